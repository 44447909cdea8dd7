-- flakegate schema, version 8: build logs of runs' steps (issue 13, SPEC §10).
--
-- One row per (run, step). The run's row owns it: ON DELETE CASCADE drops a run's logs with
-- the run (foreign keys are on for every connection). data is the zlib-compressed UTF-8 text
-- and comes last, so that listing reads no overflow page of it; sha256 is the text's hash,
-- the identity of an idempotent put.

CREATE TABLE logs (
    run_pk         INTEGER NOT NULL REFERENCES runs (pk) ON DELETE CASCADE,
    step           TEXT    NOT NULL,
    sha256         TEXT    NOT NULL,
    size           INTEGER NOT NULL,
    lines          INTEGER NOT NULL,
    received_bytes INTEGER NOT NULL,
    omitted_bytes  INTEGER NOT NULL,
    omitted_lines  INTEGER NOT NULL,
    cut_lines      INTEGER NOT NULL,
    source         TEXT    NOT NULL,
    stored_at      INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    PRIMARY KEY (run_pk, step)
);
