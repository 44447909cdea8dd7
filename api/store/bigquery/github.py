"""What was published on GitHub, in the BigQuery backend (a part of BigQueryStore; contract in
:mod:`api.store.github`). One MERGE per write upserts the (repository, target) row; writes of
this process are serialised by the dataset lock, and a MERGE that loses a race with another
process's is repeated (:func:`retrying`), so the last write wins whole."""

from __future__ import annotations

from collections.abc import Sequence

from api.store.bigquery.client import Connection, Typed, retrying, strings
from api.store.bigquery.rows import now_us, ts
from api.store.codec import from_us
from api.store.github import GitHubStore, Publication, check_key


class BigQueryGitHub(GitHubStore):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def publications(self, repository: str, targets: Sequence[str]) -> dict[str, Publication]:
        wanted = list(dict.fromkeys(targets))
        if not wanted:
            return {}
        c = self._conn
        rows = c.rows(f"SELECT target, digest, remote_id, updated_at"
                      f" FROM {c.table('github_publications')}"
                      " WHERE repository = @repository AND target IN UNNEST(@targets)",
                      repository=repository, targets=strings(wanted))
        return {str(target): Publication(repository, str(target), str(digest),
                                         None if remote is None else int(remote), updated)
                for target, digest, remote, updated in rows}

    def put_publication(self, publication: Publication) -> Publication:
        check_key(publication.repository, publication.target)
        c = self._conn
        at = now_us()

        def attempt() -> bool:
            c.execute(
                f"MERGE {c.table('github_publications')} T USING (SELECT @repository AS"
                " repository, @target AS target) S"
                " ON T.repository = S.repository AND T.target = S.target"
                " WHEN MATCHED THEN UPDATE SET digest = @digest, remote_id = @remote,"
                " updated_at = @at"
                " WHEN NOT MATCHED THEN INSERT (repository, target, digest, remote_id,"
                " updated_at) VALUES (@repository, @target, @digest, @remote, @at)",
                repository=publication.repository, target=publication.target,
                digest=publication.digest, remote=Typed("INT64", publication.remote_id),
                at=ts(at))
            return True

        retrying(c, attempt)
        return Publication(publication.repository, publication.target, publication.digest,
                           publication.remote_id, from_us(at))
