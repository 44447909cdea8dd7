-- The reads behind the pages (issue 15): a test's key (api.pages_urls.key_for_test, the stable,
-- URL-safe name of a (suite, name) that page URLs carry) kept on the interned tests row, so a
-- key resolves with one index probe. flakegate_test_key is the Python function every
-- connection registers (api/store/sqlite/schema.py); interning fills the key of new rows.
ALTER TABLE tests ADD COLUMN key TEXT;

UPDATE tests SET key = flakegate_test_key(suite, name);

CREATE INDEX tests_by_key ON tests (key);

-- The recent-payloads list groups runs by payload: with the creation time beside the payload
-- (runs_by_payload of 0002 has the payload only) that is a covering index scan.
CREATE INDEX runs_by_payload_created ON runs (payload, created_at) WHERE payload IS NOT NULL;
