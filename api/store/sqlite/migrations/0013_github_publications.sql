-- flakegate schema, version 13: what was published on GitHub (issue 14, api/store/github.py).
--
-- One row per (repository, target): the digest of the body last written and GitHub's id of
-- the check run or comment, so an unchanged verdict writes nothing and nothing is created twice.

CREATE TABLE github_publications (
    repository  TEXT NOT NULL,
    target      TEXT NOT NULL,
    digest      TEXT NOT NULL,
    remote_id   INTEGER,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (repository, target)
) WITHOUT ROWID;
