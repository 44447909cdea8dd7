-- flakegate schema, version 11: scan records keyed by pattern first (issue 13, scan speed).
-- (Version 9 made log_scans; this only reorders its key.)
--
-- A backfill records one new pattern for every scanned log. Keyed (run_pk, pattern_id, step),
-- those 10,000 rows landed one in each run's group, dirtying nearly every page of a table of
-- (logs x patterns) rows: measured on bench/scan_incremental.py, 0.11 s of CPU and 0.34 s of
-- writing per 10,000 logs, against 0.02 s and 0.06 s when a pattern's rows are contiguous. So
-- the key leads with pattern_id (which also makes the old log_scans_by_pattern index
-- redundant); "these runs' rows" is then a key lookup per (pattern, run), and "every pattern"
-- walks the patterns table.

DROP TRIGGER runs_delete_matches;

CREATE TABLE log_scans_new (
    run_pk     INTEGER NOT NULL,
    step       TEXT    NOT NULL,
    pattern_id INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (pattern_id, run_pk, step)
) WITHOUT ROWID;
INSERT INTO log_scans_new (run_pk, step, pattern_id, version)
    SELECT run_pk, step, pattern_id, version FROM log_scans;
DROP TABLE log_scans;
ALTER TABLE log_scans_new RENAME TO log_scans;

-- Scans record only stored patterns (never deleted), so a run's records are found through
-- the patterns table: one key lookup per pattern rather than a pass over every record.
CREATE TRIGGER runs_delete_matches AFTER DELETE ON runs BEGIN
    DELETE FROM matches WHERE run_pk = old.pk;
    DELETE FROM log_scans WHERE pattern_id IN (SELECT id FROM patterns) AND run_pk = old.pk;
END;
