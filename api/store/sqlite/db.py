"""The SQLite backend's connection and transactions, shared by the store's parts.

:class:`Database` owns the one connection of a store object and hands out transactions; the
store and its parts (:mod:`.runs`, :mod:`.history`, :mod:`.crawl`) each receive it in their
constructor, so every statement goes through the same connection (which tests may swap for a
proxy via ``Database.conn``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from api.domain import WriteOutcome
from api.store.base import StoreUnavailable
from api.store.sqlite.schema import connect


@contextmanager
def _unavailable_on_lock(path: str) -> Iterator[None]:
    """A lock still held after the busy timeout is the backend being unavailable, not a bug."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreUnavailable(f"sqlite store {path!r} stayed locked: {exc}") from exc
        raise


class Tx:
    """An open write transaction; clear ``commit`` to roll back a write that changed nothing."""

    __slots__ = ("commit", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.commit = True

    def outcome(self, before: object | None, after: object) -> WriteOutcome:
        """Compare a row before and after an upsert; an unchanged write is rolled back."""
        if before is None:
            return WriteOutcome.CREATED
        if before == after:
            self.commit = False
            return WriteOutcome.UNCHANGED
        return WriteOutcome.UPDATED


class Database:
    """One SQLite connection (one per thread) and its transactions."""

    def __init__(self, path: str, *, busy_timeout: float) -> None:
        self.path = path
        self.conn = connect(path, busy_timeout=busy_timeout)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on error or
        when the body cleared ``tx.commit``."""
        conn = self.conn
        with _unavailable_on_lock(self.path):
            conn.execute("BEGIN IMMEDIATE")
        tx = Tx(conn)
        try:
            yield tx
            # An unchanged write rolls back so that "changes nothing" holds literally.
            conn.execute("COMMIT" if tx.commit else "ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A deferred transaction, so that several statements see one snapshot."""
        conn = self.conn
        with _unavailable_on_lock(self.path):
            conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")
