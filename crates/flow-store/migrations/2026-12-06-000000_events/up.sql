-- The event log (issue 18): sign-ins and their failures, registrations, recoveries, lockouts,
-- password and credential changes, administrators' changes. Never a secret. Ids sort by time
-- (`evt_` + 13 digits of milliseconds + random hex), so the newest-first list and its cursor
-- use the primary key. Housekeeping deletes rows older than the retention. Portable SQL.
CREATE TABLE events (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    user_id TEXT,
    identifier TEXT,
    flow_id TEXT,
    execution_id TEXT,
    client_address TEXT,
    user_agent TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX events_by_user ON events (tenant_id, user_id, id);
CREATE INDEX events_by_time ON events (at_ms);
