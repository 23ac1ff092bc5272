-- When an administrator disabled the user (Unix seconds); NULL for a user who may sign in.
-- A disabled user is answered like an unknown identifier: it cannot sign in or recover, and
-- its identifier stays taken. Portable SQL, like every migration here.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
