-- flakegate schema, version 5: settings changes in the audit log, informing results.
-- (Version 4 is another change's; versions are applied by number, see schema.py.)

-- A settings change names its field and the old and new values as JSON text; NULL for the
-- entries that name no field (loosenings, baseline computations).
ALTER TABLE audit ADD COLUMN field TEXT;
ALTER TABLE audit ADD COLUMN old TEXT;
ALTER TABLE audit ADD COLUMN new TEXT;

-- Results a JUnit file (lifecycle="informing") or an inline upload ("informing": true)
-- marked informing: they never block. Few results are, so like messages they get a row only
-- when marked, and the results table keeps its narrow rows.
CREATE TABLE informing (
    run_pk  INTEGER NOT NULL,
    test_id INTEGER NOT NULL,
    PRIMARY KEY (run_pk, test_id),
    FOREIGN KEY (run_pk, test_id) REFERENCES results (run_pk, test_id)
) WITHOUT ROWID;
