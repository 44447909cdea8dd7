-- flakegate schema, version 10: known breakages (SPEC §10).
--
-- jobs is a JSON array (empty: every job); breakages are few, so it is filtered after the
-- read. A breakage is never deleted: resolved_at/resolution/resolved_by are set once.

CREATE TABLE breakages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cause       TEXT NOT NULL,
    jobs        TEXT NOT NULL,
    pattern_id  INTEGER,
    notes       TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    resolved_at INTEGER,
    resolution  TEXT,
    resolved_by TEXT
);
CREATE INDEX breakages_ongoing ON breakages (resolved_at, id);

-- The failed runs to classify, newest first (GET /failures/unexplained?since=).
CREATE INDEX runs_failed_by_time ON runs (coalesce(started_at, created_at))
    WHERE status = 'failure';
