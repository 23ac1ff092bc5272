-- Invitations (the InvitationStore port): who is invited, the SHA-256 of the mailed code (never
-- the code), and the invitation's life. Portable SQL, like every migration here.
-- A used or revoked invitation keeps its row, so that an administrator can list it.
CREATE TABLE invitations (
    tenant_id  TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    email      TEXT   NOT NULL,
    code_hash  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code_hash)
);
CREATE INDEX invitations_by_creation ON invitations (tenant_id, created_at);
