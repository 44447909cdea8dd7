-- flakegate schema, version 1.
--
-- Times are integer microseconds since the Unix epoch, UTC. Maps are canonical JSON text
-- (sorted keys) so that equality of stored and incoming values is a plain string compare.
-- One statement per terminating semicolon: the migration runner splits on complete statements.

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    variant       TEXT    NOT NULL DEFAULT '{}',
    policy        TEXT,
    expected_runs INTEGER,
    settings      TEXT    NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- A run's counts are denormalised here (written in the same transaction as its results) so
-- that listing runs never touches the results table. tests_hash fingerprints the results as
-- last put, letting an identical re-put be detected without reading them back.
CREATE TABLE runs (
    pk          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs (id),
    run_id      TEXT    NOT NULL,
    payload     TEXT,
    status      TEXT    NOT NULL
                CHECK (status IN ('pending', 'success', 'failure', 'error', 'aborted')),
    started_at  INTEGER,
    finished_at INTEGER,
    url         TEXT,
    variant     TEXT    NOT NULL DEFAULT '{}',
    metadata    TEXT    NOT NULL DEFAULT '{}',
    n_total     INTEGER NOT NULL DEFAULT 0,
    n_passed    INTEGER NOT NULL DEFAULT 0,
    n_failed    INTEGER NOT NULL DEFAULT 0,
    n_errors    INTEGER NOT NULL DEFAULT 0,
    n_skipped   INTEGER NOT NULL DEFAULT 0,
    n_flaked    INTEGER NOT NULL DEFAULT 0,
    tests_hash  BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (job_id, run_id)
);

-- "The last N runs of job J" and "all runs of job J for payload P", both newest first. The
-- rowid (pk) is implicitly the last column of each index, which breaks created_at ties.
CREATE INDEX runs_by_job_created ON runs (job_id, created_at);
CREATE INDEX runs_by_job_payload ON runs (job_id, payload, created_at);

-- Test names are interned once: results then carry a small integer instead of ~150 bytes
-- of suite and name text per row.
CREATE TABLE tests (
    id    INTEGER PRIMARY KEY,
    suite TEXT NOT NULL,
    name  TEXT NOT NULL,
    UNIQUE (suite, name)
);

-- The bulk of the database: one narrow row per (run, test). WITHOUT ROWID clusters the rows
-- by run so a run's results are one contiguous range and no separate rowid index is kept.
-- status is api.domain.TestStatus (0 and 1 take no payload bytes in SQLite's record format).
CREATE TABLE results (
    run_pk      INTEGER NOT NULL REFERENCES runs (pk),
    test_id     INTEGER NOT NULL REFERENCES tests (id),
    status      INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
    duration_ms INTEGER,
    PRIMARY KEY (run_pk, test_id)
) WITHOUT ROWID;

-- Only results that have a message get a row; messages can be 64 KiB, which is why this is
-- an ordinary rowid table (WITHOUT ROWID suits small rows only).
CREATE TABLE messages (
    run_pk  INTEGER NOT NULL,
    test_id INTEGER NOT NULL,
    message TEXT    NOT NULL,
    PRIMARY KEY (run_pk, test_id),
    FOREIGN KEY (run_pk, test_id) REFERENCES results (run_pk, test_id)
);

-- JUnit files attached to a run, in attach order (id).
CREATE TABLE files (
    id     INTEGER PRIMARY KEY,
    run_pk INTEGER NOT NULL REFERENCES runs (pk),
    sha256 TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    tests  INTEGER NOT NULL,
    UNIQUE (run_pk, sha256)
);

CREATE TABLE payloads (
    id         TEXT    PRIMARY KEY,
    expected   TEXT    NOT NULL DEFAULT '{}',
    deadline   INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tokens (
    hash       TEXT    PRIMARY KEY,
    scope      TEXT    NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    label      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
