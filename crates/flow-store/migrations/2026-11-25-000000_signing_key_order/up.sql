-- The order signing keys were added in, per tenant: the newest key signs, so the order must be
-- exact even when two keys share a `created_at` second (a rotation right after the first key).
-- `KeyStore::add` writes MAX(seq) + 1 of the tenant; reads order by (seq, kid).
ALTER TABLE signing_keys ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
