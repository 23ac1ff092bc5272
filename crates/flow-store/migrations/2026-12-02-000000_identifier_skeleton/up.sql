-- The confusable skeleton (UTS #39) of each user's identifier, for the UserDirectory port: a new
-- account whose identifier looks like an existing one (a Cyrillic `а` for a Latin `a`) is
-- refused like a taken identifier. Portable SQL, like every migration here.
-- SQL cannot compute skeletons: the column starts empty (NULL) and `Database::open` fills it in
-- Rust for every row that lacks one (re-normalizing identifiers stored by older versions).
-- Not unique: two existing accounts may already look alike, and both are kept. The store checks
-- it when it creates a user (on PostgreSQL under a transaction-scoped advisory lock per
-- skeleton, so two concurrent look-alike registrations cannot both pass).
ALTER TABLE users ADD COLUMN identifier_skeleton TEXT;
CREATE INDEX users_by_skeleton ON users (tenant_id, identifier_skeleton);
