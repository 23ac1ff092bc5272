-- When the user's password was last changed by a recovery or removed by an administrator
-- (Unix seconds); NULL if never. Sessions signed in and executions started before it no
-- longer count (issue 18). A re-hash of the same password does not set it. Portable SQL.
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;
