-- Failed sign-ins per user (the LoginAttempts port): the per-user attempt limit that holds
-- across executions, processes and replicas. Portable SQL, like every migration here.
-- One row per user with a failure in the current window or a lock; rows are written only for
-- existing users (never for an identifier that matches nobody) and deleted by a successful
-- sign-in, a completed password reset, or the housekeeping sweep once window and lock are over.
-- Counting is one conditional UPDATE (an INSERT only for the first failure), never a read
-- followed by a write.
-- To unlock a user by hand: DELETE FROM login_failures WHERE tenant_id = ... AND user_id = ...
CREATE TABLE login_failures (
    tenant_id      TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    failures       INTEGER NOT NULL,
    window_ends_at BIGINT  NOT NULL,
    locked_until   BIGINT,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX login_failures_by_window ON login_failures (window_ends_at);
