-- flakegate schema, version 7: disruption and alert measurements and their baselines (§9).
--
-- A run's measurements are stored summed per key (each file's seconds added in the same
-- transaction that records the file), so the baseline reads one narrow row per (run, key).
-- Keys are interned like test names. ON DELETE CASCADE: deleting a run deletes these too.

CREATE TABLE measure_keys (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('disruptions', 'alerts')),
    name      TEXT NOT NULL,
    namespace TEXT NOT NULL DEFAULT '',
    level     TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, name, namespace, level)
);

-- The run's variant (merged cluster-data, or derived from the job name when it sent none:
-- from_cluster_data = 0) and which kinds it has (a file of the kind was attached).
CREATE TABLE run_measures (
    run_pk               INTEGER PRIMARY KEY REFERENCES runs (pk) ON DELETE CASCADE,
    release              TEXT NOT NULL DEFAULT '',
    from_release         TEXT NOT NULL DEFAULT '',
    platform             TEXT NOT NULL DEFAULT '',
    architecture         TEXT NOT NULL DEFAULT '',
    network              TEXT NOT NULL DEFAULT '',
    topology             TEXT NOT NULL DEFAULT '',
    master_nodes_updated TEXT NOT NULL DEFAULT '',
    from_cluster_data    INTEGER NOT NULL DEFAULT 0,
    has_disruptions      INTEGER NOT NULL DEFAULT 0,
    has_alerts           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE measurements (
    run_pk  INTEGER NOT NULL REFERENCES runs (pk) ON DELETE CASCADE,
    key_id  INTEGER NOT NULL REFERENCES measure_keys (id),
    seconds INTEGER NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (run_pk, key_id)
) WITHOUT ROWID;

CREATE TABLE measure_files (
    run_pk INTEGER NOT NULL REFERENCES runs (pk) ON DELETE CASCADE,
    sha256 TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    kind   TEXT    NOT NULL,
    PRIMARY KEY (run_pk, sha256)
) WITHOUT ROWID;

CREATE TABLE disruption_baselines (
    kind        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    window_days INTEGER NOT NULL,
    n_rows      INTEGER NOT NULL,
    actor       TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (kind, version)
);

-- Rows in the contract's order by primary key; the matcher reads one key's rows by
-- (kind, version, name), a prefix of it.
CREATE TABLE disruption_baseline_rows (
    kind                 TEXT    NOT NULL,
    version              INTEGER NOT NULL,
    name                 TEXT    NOT NULL,
    namespace            TEXT    NOT NULL,
    level                TEXT    NOT NULL,
    release              TEXT    NOT NULL,
    from_release         TEXT    NOT NULL,
    platform             TEXT    NOT NULL,
    architecture         TEXT    NOT NULL,
    network              TEXT    NOT NULL,
    topology             TEXT    NOT NULL,
    master_nodes_updated TEXT    NOT NULL,
    job_runs             INTEGER NOT NULL,
    p50                  REAL,
    p75                  REAL,
    p95                  REAL    NOT NULL,
    p99                  REAL    NOT NULL,
    mean                 REAL,
    stddev               REAL,
    first_observed       INTEGER,
    last_observed        INTEGER,
    PRIMARY KEY (kind, version, name, namespace, level, release, from_release, platform,
                 architecture, network, topology, master_nodes_updated),
    FOREIGN KEY (kind, version) REFERENCES disruption_baselines (kind, version)
) WITHOUT ROWID;
