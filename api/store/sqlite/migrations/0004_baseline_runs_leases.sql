-- flakegate schema, version 4: which runs each baseline version counted, and leases.

-- The runs a version was computed from, so a verdict can remove the judged payload's own runs
-- from the history however the version was computed. A version stored before this table (or
-- without run ids) has a NULL runs_recorded: its membership is unknown.
CREATE TABLE baseline_runs (
    job_id  INTEGER NOT NULL,
    version INTEGER NOT NULL,
    run_pk  INTEGER NOT NULL,
    PRIMARY KEY (job_id, version, run_pk),
    FOREIGN KEY (job_id, version) REFERENCES baselines (job_id, version)
) WITHOUT ROWID;
ALTER TABLE baselines ADD COLUMN runs_recorded INTEGER;

-- Named expiring locks shared by every process on the database (the baseline schedule's
-- one-recompute-per-job-at-a-time guard).
CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL  -- microseconds since the epoch, UTC
) WITHOUT ROWID;
