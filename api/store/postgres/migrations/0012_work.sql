-- flakegate PostgreSQL schema, version 12: durable background work (issue 14,
-- api/store/work.py). The SQLite part (api/store/sqlite/work.py) runs on it through the
-- dialect; times are microseconds since the epoch, as everywhere in this schema.
--
-- One row per item. A claimed item is a queued one with an unexpired lease_until; done and
-- dead items stay (a `once` key blocks redelivered webhooks) until purged by kind and age.

CREATE TABLE work (
    id          text    NOT NULL PRIMARY KEY,
    kind        text    NOT NULL,
    key         text    NOT NULL,
    body        text    NOT NULL,
    state       text    NOT NULL,
    attempts    integer NOT NULL,
    not_before  bigint  NOT NULL,
    holder      text,
    lease_until bigint,
    error       text,
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL
);
CREATE INDEX work_by_key ON work (kind, key);
CREATE INDEX work_due ON work (not_before) WHERE state = 'queued';
CREATE INDEX work_by_created ON work (created_at, id);
