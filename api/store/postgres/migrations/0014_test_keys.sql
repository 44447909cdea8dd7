-- The reads behind the pages (issue 15), as SQLite's 0014: a test's page key
-- (api.pages_urls.key_for_test) on the interned tests row, and an index for the recent
-- payloads. Interning keys new tests in Python; this keys the tests stored before, in SQL:
-- base64url of the first 16 bytes of SHA-256 of the JSON pair, where to_json escapes exactly
-- as Python's json.dumps(ensure_ascii=False) does. Limit: a test stored before this migration
-- whose suite or name holds NUL or U+0001 (stored escaped, see dialect.escape) gets a key that
-- differs from key_for_test, so its page is not reachable by key; the backend is new in the
-- same release as this migration, so no such database predates it in practice.
ALTER TABLE tests ADD COLUMN key text;

UPDATE tests SET key = rtrim(translate(encode(substring(sha256(convert_to(
    '[' || to_json(suite)::text || ', ' || to_json(name)::text || ']', 'UTF8'))
    FROM 1 FOR 16), 'base64'), '+/', '-_'), '=');

CREATE INDEX tests_by_key ON tests (key);

CREATE INDEX runs_by_payload_created ON runs (payload, created_at) WHERE payload IS NOT NULL;
