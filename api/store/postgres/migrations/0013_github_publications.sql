-- flakegate PostgreSQL schema, version 13: what was published on GitHub (issue 14), as
-- SQLite's migration 0013 (api/store/sqlite/migrations/0013_github_publications.sql).

CREATE TABLE github_publications (
    repository  text    NOT NULL,
    target      text    NOT NULL,
    digest      text    NOT NULL,
    remote_id   bigint,
    updated_at  bigint  NOT NULL,
    PRIMARY KEY (repository, target)
);
