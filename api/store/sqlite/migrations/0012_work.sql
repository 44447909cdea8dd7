-- flakegate schema, version 12: durable background work (issue 14, api/store/work.py).
--
-- One row per item. A claimed item is a queued one with an unexpired lease_until; done and
-- dead items stay (a `once` key blocks redelivered webhooks) until purged by kind and age.

CREATE TABLE work (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    not_before  INTEGER NOT NULL,
    holder      TEXT,
    lease_until INTEGER,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX work_by_key ON work (kind, key);
CREATE INDEX work_due ON work (not_before) WHERE state = 'queued';
CREATE INDEX work_by_created ON work (created_at, id);
