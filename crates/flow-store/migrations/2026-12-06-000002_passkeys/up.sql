-- Passkeys live in `credentials` with kind 'passkey', the credential id as `credential_id`
-- and a JSON `secret` (name, the relying party's serialized credential, counter, backup
-- state, last use). A credential id belongs to one user of a tenant; the index also finds its
-- owner for a sign-in without an identifier. Portable SQL (partial indexes exist in both).
CREATE UNIQUE INDEX credentials_passkey_id ON credentials (tenant_id, kind, credential_id)
    WHERE kind = 'passkey';
