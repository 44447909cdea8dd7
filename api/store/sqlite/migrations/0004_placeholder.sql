-- PLACEHOLDER for another branch's migration 0004, so that the tokens branch (0006) runs
-- alone. The coordinator drops this file when merging the real 0004.
SELECT 1;
