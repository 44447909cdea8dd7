-- flakegate schema, version 3: the pull crawler's ledger (builds done, unfinished, failed).

CREATE TABLE crawl_records (
    source     TEXT    NOT NULL,
    build      TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('done', 'unfinished', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    reason     TEXT,
    job        TEXT,
    run_id     TEXT,
    first_seen INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, build)
) WITHOUT ROWID;
CREATE INDEX crawl_records_by_state ON crawl_records (source, state, build);
