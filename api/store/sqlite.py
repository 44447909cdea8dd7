"""The embedded SQLite backend (stdlib ``sqlite3``): one file, WAL, one connection per store.

Every mutating method is one ``BEGIN IMMEDIATE`` transaction. IMMEDIATE takes the write lock
up front, so concurrent writers queue on the busy timeout instead of failing when a read
transaction tries to upgrade; rows are still written with ``INSERT ... ON CONFLICT`` so that
no write depends on an earlier read being current. Reads that span several statements run
in one deferred transaction so they see one snapshot.

Results are stored narrow (see ``migrations/0001_initial.sql``): interned test ids, status as
a small integer, duration in integer milliseconds, messages apart.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from api.domain import (
    Job,
    JobSpec,
    Page,
    Payload,
    Scope,
    WriteOutcome,
)
from api.store.base import (
    Store,
    StoreError,
    StoreUnavailable,
)
from api.store.sqlite_codec import (
    check_expected,
    decode_cursor,
    dump_map,
    encode_cursor,
    now_us,
    to_us,
)
from api.store.sqlite_crawl import SqliteCrawl
from api.store.sqlite_history import SqliteHistory
from api.store.sqlite_rows import (
    JOB_COLUMNS,
    check_limit,
    job_of,
    job_row,
    payload_of,
    payload_row,
)
from api.store.sqlite_runs import SqliteRuns
from api.store.sqlite_schema import apply_migrations, connect, load_migrations

DEFAULT_BUSY_TIMEOUT = 30.0


@contextmanager
def _unavailable_on_lock(path: str) -> Iterator[None]:
    """A lock still held after the busy timeout is the backend being unavailable, not a bug."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreUnavailable(f"sqlite store {path!r} stayed locked: {exc}") from exc
        raise


def _outcome(tx: _Tx, before: object | None, after: object) -> WriteOutcome:
    """Compare a row before and after an upsert; an unchanged write is rolled back."""
    if before is None:
        return WriteOutcome.CREATED
    if before == after:
        tx.commit = False
        return WriteOutcome.UNCHANGED
    return WriteOutcome.UPDATED


class _Tx:
    __slots__ = ("commit", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.commit = True


class SqliteStore(SqliteRuns, SqliteHistory, SqliteCrawl, Store):
    """A :class:`Store` on one SQLite file; one object per thread (sqlite3 enforces it)."""

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self._conn = connect(self.path, busy_timeout=busy_timeout)

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection, for diagnostics and tests; do not write through it."""
        return self._conn

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[_Tx]:
        conn = self._conn
        with _unavailable_on_lock(self.path):
            conn.execute("BEGIN IMMEDIATE")
        tx = _Tx(conn)
        try:
            yield tx
            # An unchanged write rolls back so that "changes nothing" holds literally.
            conn.execute("COMMIT" if tx.commit else "ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        with _unavailable_on_lock(self.path):
            conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    # -- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> int:
        return apply_migrations(self._conn, load_migrations())

    def close(self) -> None:
        self._conn.close()

    def ping(self) -> None:
        try:
            self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self.path!r} is not usable: {exc}") from exc

    def integrity_check(self) -> list[str]:
        """Problems found by SQLite's integrity and foreign-key checks; empty when sound."""
        problems = [
            row[0]
            for row in self._conn.execute("PRAGMA integrity_check").fetchall()
            if row[0] != "ok"
        ]
        problems += [
            f"foreign key violation: {table} rowid {rowid} -> {parent}"
            for table, rowid, parent, _ in self._conn.execute("PRAGMA foreign_key_check")
        ]
        return problems

    def checkpoint(self) -> None:
        """Copy the WAL into the main file and truncate it (for backups and size checks)."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    # -- jobs --------------------------------------------------------------------------------

    def put_job(self, spec: JobSpec) -> tuple[Job, WriteOutcome]:
        variant = None if spec.variant is None else dump_map(spec.variant)
        settings = None if spec.settings is None else dump_map(spec.settings)
        params = {
            "name": spec.name,
            "variant": variant,
            "policy": spec.policy,
            "expected_runs": spec.expected_runs,
            "settings": settings,
            "now": now_us(),
        }
        with self._write() as tx:
            before = job_row(tx.conn, spec.name)
            # The WHERE makes an identical put a no-op, so updated_at only moves on change.
            tx.conn.execute(
                "INSERT INTO jobs (name, variant, policy, expected_runs, settings,"
                " created_at, updated_at)"
                " VALUES (:name, coalesce(:variant, '{}'), :policy, :expected_runs,"
                " coalesce(:settings, '{}'), :now, :now)"
                " ON CONFLICT (name) DO UPDATE SET"
                " variant = coalesce(:variant, variant), policy = coalesce(:policy, policy),"
                " expected_runs = coalesce(:expected_runs, expected_runs),"
                " settings = coalesce(:settings, settings),"
                " updated_at = max(:now, updated_at + 1)"
                " WHERE coalesce(:variant, variant) IS NOT variant"
                " OR coalesce(:policy, policy) IS NOT policy"
                " OR coalesce(:expected_runs, expected_runs) IS NOT expected_runs"
                " OR coalesce(:settings, settings) IS NOT settings",
                params,
            )
            after = job_row(tx.conn, spec.name)
            assert after is not None
            return job_of(after), _outcome(tx, before, after)

    def get_job(self, name: str) -> Job | None:
        row = job_row(self._conn, name)
        return None if row is None else job_of(row)

    def list_jobs(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        if cursor is None:
            sql, params = f"SELECT {JOB_COLUMNS} FROM jobs ORDER BY name LIMIT ?", (limit + 1,)
        else:
            after = decode_cursor(cursor, "jobs", (str,))[0]
            sql = f"SELECT {JOB_COLUMNS} FROM jobs WHERE name > ? ORDER BY name LIMIT ?"
            params = (after, limit + 1)
        rows = self._conn.execute(sql, params).fetchall()
        jobs = tuple(job_of(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(jobs, encode_cursor("jobs", [jobs[-1].name]) if more else None)

    # -- payloads ----------------------------------------------------------------------------

    def put_payload(self, payload: Payload) -> tuple[Payload, WriteOutcome]:
        check_expected(payload.expected)
        expected = dump_map(payload.expected)
        deadline = to_us(payload.deadline)
        with self._write() as tx:
            before = payload_row(tx.conn, payload.id)
            tx.conn.execute(
                "INSERT INTO payloads (id, expected, deadline, created_at, updated_at)"
                " VALUES (:id, :expected, :deadline, :now, :now)"
                " ON CONFLICT (id) DO UPDATE SET expected = :expected, deadline = :deadline,"
                " updated_at = max(:now, updated_at + 1)"
                " WHERE expected IS NOT :expected OR deadline IS NOT :deadline",
                {"id": payload.id, "expected": expected, "deadline": deadline, "now": now_us()},
            )
            after = payload_row(tx.conn, payload.id)
            assert after is not None
            return payload_of(after), _outcome(tx, before, after)

    def get_payload(self, payload_id: str) -> Payload | None:
        row = payload_row(self._conn, payload_id)
        return None if row is None else payload_of(row)

    # -- tokens ------------------------------------------------------------------------------

    def add_token(self, token_hash: str, scope: Scope, label: str) -> None:
        with self._write() as tx:
            tx.conn.execute(
                "INSERT INTO tokens (hash, scope, label, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (hash) DO UPDATE SET scope = excluded.scope, label = excluded.label",
                (token_hash, Scope(scope).value, label, now_us()),
            )

    def find_token(self, token_hash: str) -> Scope | None:
        row = self._conn.execute(
            "SELECT scope FROM tokens WHERE hash = ?", (token_hash,)
        ).fetchone()
        return None if row is None else Scope(row[0])
