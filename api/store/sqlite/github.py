"""What was published on GitHub, in the SQLite backend (a part of SqliteStore; contract in
:mod:`api.store.github`)."""

from __future__ import annotations

from collections.abc import Sequence

from api.store.codec import from_us, now_us
from api.store.github import GitHubStore, Publication, check_key
from api.store.sqlite.db import Database


class SqliteGitHub(GitHubStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def publications(self, repository: str, targets: Sequence[str]) -> dict[str, Publication]:
        wanted = list(dict.fromkeys(targets))
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = self._db.conn.execute(
            "SELECT target, digest, remote_id, updated_at FROM github_publications"
            f" WHERE repository = ? AND target IN ({marks})", (repository, *wanted)).fetchall()
        return {str(target): Publication(repository, str(target), str(digest),
                                         None if remote is None else int(remote),
                                         from_us(updated))
                for target, digest, remote, updated in rows}

    def put_publication(self, publication: Publication) -> Publication:
        check_key(publication.repository, publication.target)
        at = now_us()
        with self._db.write() as tx:
            tx.conn.execute(
                "INSERT INTO github_publications (repository, target, digest, remote_id,"
                " updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (repository, target) DO UPDATE"
                " SET digest = excluded.digest, remote_id = excluded.remote_id,"
                " updated_at = excluded.updated_at",
                (publication.repository, publication.target, publication.digest,
                 publication.remote_id, at))
        return Publication(publication.repository, publication.target, publication.digest,
                           publication.remote_id, from_us(at))
