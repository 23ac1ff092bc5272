-- Authenticator apps (TOTP) of users, for the UserDirectory port: one per user, replaced when
-- the user sets up a new one. Portable SQL, like every migration here.
-- The secret is stored as it is (base32 text, `secret_format` 1), as authentik and WSO2 store
-- theirs: the server must compute codes from it, so it cannot be hashed. Protect the database
-- (and its backups) accordingly.
-- `last_step` is the time step (Unix time / period) of the last accepted code: a code is
-- accepted only by one conditional UPDATE that moves it forward, so a code works once, even
-- when two sign-ins submit it at the same moment.
CREATE TABLE totp_credentials (
    tenant_id     TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    secret_format INTEGER NOT NULL,
    secret        TEXT    NOT NULL,
    digits        INTEGER NOT NULL,
    period        INTEGER NOT NULL,
    last_step     BIGINT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
