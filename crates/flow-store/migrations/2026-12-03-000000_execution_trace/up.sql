-- The trace of an execution moves beside it, so that the execution record stays small: each
-- save appends the entries its request wrote, in the save's transaction, and the store keeps
-- the last 200 (MAX_TRACE_ENTRIES) per execution. `seq` numbers an execution's entries from 0.
-- Records of format 1 carried their trace (and their whole program) inline; they still load,
-- without the old trace. Portable SQL, like every migration here.
CREATE TABLE execution_trace (
    tenant_id    TEXT    NOT NULL,
    execution_id TEXT    NOT NULL,
    seq          BIGINT  NOT NULL,
    step         BIGINT  NOT NULL,
    node_id      TEXT    NOT NULL,
    op           TEXT    NOT NULL,
    result       TEXT    NOT NULL,
    detail       TEXT,
    at_ms        BIGINT  NOT NULL,
    PRIMARY KEY (execution_id, seq)
);
