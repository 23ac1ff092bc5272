-- Social login. The identity providers of each tenant: the engine's `IdentityProvider` as JSON
-- in `settings` (it holds the client secret), with its format number.
CREATE TABLE identity_providers (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    settings_format INTEGER NOT NULL,
    settings        TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- A user's links to provider accounts live in `credentials` with kind 'federated',
-- `credential_id` '{provider}:{subject}' (provider ids never contain ':') and the link as JSON
-- in `secret`; a user's deletion cascades to them. A provider account is linked to one user of
-- a tenant at most; the index also finds that user at sign-in. Portable SQL (partial indexes
-- exist in both).
CREATE UNIQUE INDEX credentials_federated_id ON credentials (tenant_id, kind, credential_id)
    WHERE kind = 'federated';
