-- flakegate's PostgreSQL schema, version 15: progress of `flakegate db copy` into this
-- database (SQLite's migration 0015; versions 2-14 are other changes').
CREATE TABLE transfer_progress (
    copy_id text    NOT NULL,
    source  text    NOT NULL,
    tbl     text    NOT NULL,
    after   text,
    rows    bigint  NOT NULL,
    done    integer NOT NULL,
    PRIMARY KEY (copy_id, tbl)
);
