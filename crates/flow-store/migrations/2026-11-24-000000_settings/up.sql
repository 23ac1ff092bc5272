-- Server settings per tenant (for now: the digest of a generated admin token).
CREATE TABLE settings (
    tenant_id  TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
