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
from api.store.base import StoreFull, StoreUnavailable
from api.store.sqlite.schema import connect

# SQLite's words for a file that is gone, unreadable or not (yet) a flakegate database: the
# store is unavailable (503), not the request wrong and not a bug.
_BROKEN = ("unable to open", "not a database", "malformed", "no such table", "disk i/o",
           "readonly database")


def classify(exc: sqlite3.Error, path: str) -> StoreUnavailable | None:
    """The store error an SQLite fault is, or ``None`` for one that is a bug: a lock still
    held after the busy timeout or a broken or missing file (:class:`StoreUnavailable`), a
    full disk or page limit (:class:`StoreFull`)."""
    text = str(exc).lower()
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "is full" in text:
        return StoreFull(f"sqlite store {path!r} is full: {exc}")
    if "locked" in text or "busy" in text:
        return StoreUnavailable(f"sqlite store {path!r} stayed locked: {exc}")
    if any(word in text for word in _BROKEN):
        return StoreUnavailable(f"sqlite store {path!r} is not usable: {exc}")
    return None


@contextmanager
def store_faults(path: str) -> Iterator[None]:
    """Raise SQLite's own faults as the store errors :func:`classify` makes of them."""
    try:
        yield
    except sqlite3.Error as exc:
        fault = classify(exc, path)
        if fault is None:
            raise
        raise fault from exc


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

    def __init__(self, path: str, *, busy_timeout: float, create: bool = True) -> None:
        self.path = path
        with store_faults(path):
            self.conn = connect(path, busy_timeout=busy_timeout, create=create)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on error or
        when the body cleared ``tx.commit``."""
        conn = self.conn
        with store_faults(self.path):
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
        with store_faults(self.path):
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
