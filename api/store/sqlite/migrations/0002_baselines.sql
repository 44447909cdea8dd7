-- flakegate schema, version 2: baselines, their audit log, and payload lookups across jobs.

-- "Every job's runs of payload P" for the verdict (the existing index leads with job_id).
CREATE INDEX runs_by_payload ON runs (payload) WHERE payload IS NOT NULL;

-- One row per baseline version of a job; a stored version never changes.
CREATE TABLE baselines (
    job_id          INTEGER NOT NULL REFERENCES jobs (id),
    version         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    runs            INTEGER NOT NULL,
    tests           INTEGER NOT NULL,
    window_days     INTEGER NOT NULL,
    max_runs        INTEGER NOT NULL,
    exclude_payload TEXT,
    latch           INTEGER NOT NULL,
    prior           TEXT    NOT NULL,  -- api.stats.types.Prior.to_dict(): a beta mixture
    note            TEXT,
    PRIMARY KEY (job_id, version)
) WITHOUT ROWID;

-- Per-test records of a version, clustered so a verdict reads one contiguous range.
CREATE TABLE baseline_tests (
    job_id             INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    test_id            INTEGER NOT NULL REFERENCES tests (id),
    runs               INTEGER NOT NULL,
    passes             INTEGER NOT NULL,
    failures           INTEGER NOT NULL,
    flakes             INTEGER NOT NULL,
    pass_rate          REAL    NOT NULL,
    stddev             REAL    NOT NULL,
    latched            INTEGER NOT NULL DEFAULT 0,
    observed_pass_rate REAL,
    PRIMARY KEY (job_id, version, test_id),
    FOREIGN KEY (job_id, version) REFERENCES baselines (job_id, version)
) WITHOUT ROWID;

-- Append-only record of explicit loosenings (and any later admin action on baselines).
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    job_id  INTEGER NOT NULL REFERENCES jobs (id),
    at      INTEGER NOT NULL,
    action  TEXT    NOT NULL,
    actor   TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    tests   TEXT    NOT NULL,
    version INTEGER
);
CREATE INDEX audit_by_job ON audit (job_id, id);
