-- flakegate schema, version 9: curated failure patterns, their matches and scans (SPEC §10).
-- (Versions 7, 8 and 10 are other changes'; versions are applied by number, see schema.py.)

-- A pattern's identity and current state; its versioned fields live in pattern_versions.
-- version is the newest version's number.
CREATE TABLE patterns (
    id         INTEGER PRIMARY KEY,
    version    INTEGER NOT NULL,
    author     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER,
    promoted   INTEGER NOT NULL DEFAULT 0
);

-- Every version is kept (an edit never rewrites one): old matches stay explainable. tags and
-- steps are JSON arrays of text.
CREATE TABLE pattern_versions (
    pattern_id     INTEGER NOT NULL REFERENCES patterns (id),
    version        INTEGER NOT NULL,
    expression     TEXT    NOT NULL,
    syntax         TEXT    NOT NULL CHECK (syntax IN ('literal', 'regex')),
    tags           TEXT    NOT NULL DEFAULT '[]',
    steps          TEXT    NOT NULL DEFAULT '[]',
    specificity    INTEGER NOT NULL,
    lines_from_end INTEGER,
    description    TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    PRIMARY KEY (pattern_id, version)
) WITHOUT ROWID;

-- A pattern has no job, so its curating acts have their own append-only log.
CREATE TABLE pattern_audit (
    seq        INTEGER PRIMARY KEY,
    pattern_id INTEGER NOT NULL REFERENCES patterns (id),
    at         INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    version    INTEGER NOT NULL
);
CREATE INDEX pattern_audit_by_pattern ON pattern_audit (pattern_id, seq);

-- What each scanned log (run, step) had applied: {"pattern id": version} as JSON text, so
-- that a rescan applies only versions not yet applied (new patterns and edits).
CREATE TABLE log_scans (
    run_pk  INTEGER NOT NULL,
    step    TEXT    NOT NULL,
    applied TEXT    NOT NULL,
    PRIMARY KEY (run_pk, step)
) WITHOUT ROWID;

-- One row per (pattern version, line) found; line_text is the line as scanned (already cut
-- to its last 5,000 characters by the scanner).
CREATE TABLE matches (
    run_pk      INTEGER NOT NULL,
    step        TEXT    NOT NULL,
    pattern_id  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    line_number INTEGER NOT NULL,
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    line_text   TEXT    NOT NULL
);
CREATE INDEX matches_by_log ON matches (run_pk, step, pattern_id);
CREATE INDEX matches_by_pattern ON matches (pattern_id, run_pk);

-- Background scans: a backfill applies one pattern version to the history (one per version:
-- the unique key), a rescan every live pattern to runs since a time. cursor is where it resumes.
CREATE TABLE scans (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('backfill', 'rescan')),
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    pattern_id      INTEGER,
    pattern_version INTEGER,
    job             TEXT,
    since           INTEGER,
    cursor          TEXT,
    logs_scanned    INTEGER NOT NULL DEFAULT 0,
    matches         INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    actor           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (pattern_id, pattern_version)
);
CREATE INDEX scans_open ON scans (state, id);

-- Deleting a run deletes its matches and scan records with it (whichever code deletes it).
CREATE TRIGGER runs_delete_matches AFTER DELETE ON runs BEGIN
    DELETE FROM matches WHERE run_pk = old.pk;
    DELETE FROM log_scans WHERE run_pk = old.pk;
END;
