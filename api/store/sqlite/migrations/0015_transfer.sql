-- flakegate schema, version 15: progress of `flakegate db copy` into this database.
-- (Versions 12-14 are other changes'; versions are applied by number, see schema.py.)
--
-- One row per logical table of the copy writing here: the source cursor after the last batch
-- imported, so an interrupted copy resumes where it stopped. Not part of any logical table.
CREATE TABLE transfer_progress (
    copy_id TEXT    NOT NULL,
    source  TEXT    NOT NULL,
    tbl     TEXT    NOT NULL,
    after   TEXT,
    rows    INTEGER NOT NULL,
    done    INTEGER NOT NULL,
    PRIMARY KEY (copy_id, tbl)
) WITHOUT ROWID;
