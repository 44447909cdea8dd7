-- flakegate schema, version 6: tokens that can be listed, expire and be revoked.
--
-- id is the first 12 hex digits of the hash: stable, safe to show, and the name the audit
-- log already gives a token's holder ("token sha256:<id>"). revoked_by is the token audit:
-- who revoked it (a token has no job, so it has no place in the per-job audit log).

ALTER TABLE tokens ADD COLUMN id TEXT;
UPDATE tokens SET id = substr(hash, 1, 12);
CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
CREATE INDEX tokens_by_created ON tokens (created_at, id);
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_by TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
