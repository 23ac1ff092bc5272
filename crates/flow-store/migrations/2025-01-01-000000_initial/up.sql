-- flowd's initial schema. Portable SQL: it runs unchanged on SQLite and PostgreSQL
-- (TEXT, INTEGER, BIGINT, BOOLEAN; no backend-specific types or defaults).
-- Every table carries tenant_id; every uniqueness rule is per tenant.
-- JSON columns are TEXT and have a *_format column, so that a later flowd can migrate old rows.
-- Times are Unix seconds (BIGINT).

CREATE TABLE flows (
    tenant_id      TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    flow_type      TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    version        BIGINT  NOT NULL,
    is_default     BOOLEAN NOT NULL,
    body_format    INTEGER NOT NULL,
    body           TEXT    NOT NULL,
    activated_at   BIGINT,
    deactivated_at BIGINT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE INDEX flows_by_type ON flows (tenant_id, flow_type);

CREATE TABLE flow_versions (
    tenant_id      TEXT    NOT NULL,
    flow_id        TEXT    NOT NULL,
    version        BIGINT  NOT NULL,
    graph          TEXT,
    program_format INTEGER NOT NULL,
    program        TEXT    NOT NULL,
    content_hash   TEXT    NOT NULL,
    compiled_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, flow_id, version),
    FOREIGN KEY (tenant_id, flow_id) REFERENCES flows (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE executions (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    flow_id     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    revision    BIGINT  NOT NULL,
    body_format INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX executions_by_expiry ON executions (expires_at);
CREATE INDEX executions_by_tenant ON executions (tenant_id);

CREATE TABLE users (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    identifier  TEXT    NOT NULL,
    data_format INTEGER NOT NULL,
    attributes  TEXT    NOT NULL,
    mfa_methods TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, identifier)
);

-- One row per credential: kind 'password' now (credential_id ''), later 'totp', 'webauthn'
-- (several passkeys per user, told apart by credential_id).
CREATE TABLE credentials (
    tenant_id     TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    credential_id TEXT    NOT NULL,
    secret_format INTEGER NOT NULL,
    secret        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, user_id, kind, credential_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE one_time_codes (
    tenant_id     TEXT    NOT NULL,
    code_key      TEXT    NOT NULL,
    code_hash     TEXT    NOT NULL,
    expires_at    BIGINT  NOT NULL,
    attempts_left INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, code_key)
);
CREATE INDEX one_time_codes_by_expiry ON one_time_codes (expires_at);

-- Token signing keys (JWKS); written by a later issue.
CREATE TABLE signing_keys (
    tenant_id   TEXT    NOT NULL,
    kid         TEXT    NOT NULL,
    algorithm   TEXT    NOT NULL,
    key_format  INTEGER NOT NULL,
    private_key TEXT    NOT NULL,
    public_jwk  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    not_after   BIGINT,
    PRIMARY KEY (tenant_id, kid)
);
