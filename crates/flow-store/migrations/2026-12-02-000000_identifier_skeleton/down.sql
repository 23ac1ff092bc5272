DROP INDEX users_by_skeleton;
ALTER TABLE users DROP COLUMN identifier_skeleton;
