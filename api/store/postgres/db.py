"""The PostgreSQL backend's connections and transactions, shaped like the SQLite ``Database``.

A :class:`PgDatabase` holds one pooled connection (taken when the store opens, given back when
it closes) behind :class:`PgConnection`, which offers the slice of ``sqlite3.Connection`` the
SQLite parts use (``execute``, ``executemany``, cursors with ``fetchone``/``fetchall``/
``rowcount``) and translates their SQL (:mod:`.dialect`). Pools are process-wide, one per
server URL and process id, so a request does not reconnect and a forked gunicorn worker never
shares its parent's sockets.

Writes are serialised per schema by a transaction-scoped advisory lock, taken first in every
write transaction: the SQLite parts read-then-write inside a transaction relying on SQLite's one
writer (``BEGIN IMMEDIATE``), and the lock gives them exactly that guarantee across every
process and server on the database, leases included. Reads run in REPEATABLE READ transactions
so that several statements see one snapshot, as SQLite's deferred transactions do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Dumper, Loader
from psycopg_pool import ConnectionPool, PoolTimeout

from api.store.errors import StoreFull, StoreUnavailable
from api.store.postgres.dialect import translate, unescape
from api.store.sqlite.db import Database, Tx

# SQLSTATE classes that mean "the server cannot serve now", not "the statement is wrong":
# 08 connection exceptions, 53 insufficient resources (too many connections, out of memory),
# 57 operator intervention (shutdown, statement timeout), 58 system errors (I/O).
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
_DISK_FULL = "53100"
_FULL_CLASSES = ("53100", "54000")  # disk full, program limit exceeded (row too big)

DEFAULT_POOL_MAX = int(os.environ.get("FLAKEGATE_PG_POOL_MAX", "8"))
DEFAULT_POOL_TIMEOUT = float(os.environ.get("FLAKEGATE_PG_POOL_TIMEOUT", "10"))


class _UntypedBool(Dumper):
    """Booleans as the untyped literals '1'/'0', as SQLite's untyped parameters behave: the
    flag columns are integers (as in SQLite) yet ``(:first OR ...)`` needs a boolean, and an
    unknown-typed '1' becomes either."""

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: bool) -> bytes:
        return b"'1'" if obj else b"'0'"


class _NumberFromNumeric(Loader):
    """``numeric`` (what ``sum(bigint)`` returns) as int or float, as SQLite returns sums."""

    def load(self, data: Any) -> int | float:
        text = bytes(data)
        return float(text) if b"." in text or b"N" in text else int(text)


class _UnescapedText(Loader):
    """Text as the parts wrote it (see :func:`api.store.postgres.dialect.escape`)."""

    def load(self, data: Any) -> str:
        return unescape(bytes(data).decode("utf-8"))


def classify(exc: psycopg.Error, target: str) -> StoreUnavailable | None:
    """The store error a PostgreSQL fault is, or ``None`` for one that is a bug."""
    state = getattr(exc, "sqlstate", None) or ""
    if state == _DISK_FULL or state in _FULL_CLASSES:
        return StoreFull(f"postgresql store {target} is full: {exc}")
    if isinstance(exc, psycopg.OperationalError) and not state:
        return StoreUnavailable(f"postgresql store {target} is unreachable: {exc}")
    if state[:2] in _UNAVAILABLE_CLASSES or isinstance(exc, pg_errors.UndefinedTable):
        return StoreUnavailable(f"postgresql store {target} is not usable: {exc}")
    return None


@contextmanager
def store_faults(target: str) -> Iterator[None]:
    """Raise PostgreSQL's faults (and a pool that stays empty) as store errors."""
    try:
        yield
    except PoolTimeout as exc:
        raise StoreUnavailable(f"postgresql store {target}: no connection free: {exc}") from exc
    except psycopg.Error as exc:
        fault = classify(exc, target)
        if fault is None:
            raise
        raise fault from exc


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    conn.adapters.register_dumper(bool, _UntypedBool)
    conn.adapters.register_loader("numeric", _NumberFromNumeric)
    for text_type in ("text", "varchar", "name", "bpchar"):
        conn.adapters.register_loader(text_type, _UnescapedText)


_pools: dict[tuple[int, str], ConnectionPool[Any]] = {}
_pools_lock = threading.Lock()


def pool_for(conninfo: str, *, max_size: int = DEFAULT_POOL_MAX,
             timeout: float = DEFAULT_POOL_TIMEOUT) -> ConnectionPool[Any]:
    """The process's pool for ``conninfo`` (created on first use, in this process)."""
    key = (os.getpid(), conninfo)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = ConnectionPool(
                conninfo, min_size=1, max_size=max_size, timeout=timeout, open=True,
                configure=_configure, check=ConnectionPool.check_connection,
                kwargs={"cursor_factory": psycopg.ClientCursor},
                name=f"flakegate-{len(_pools)}")
            _pools[key] = pool
        return pool


def close_pools() -> None:
    """Close this process's pools (tests and ``atexit``; a closed pool is made anew on use)."""
    with _pools_lock:
        for (pid, _), pool in list(_pools.items()):
            if pid == os.getpid():
                pool.close()
        _pools.clear()


# An INSERT whose VALUES are placeholders and integer constants only, and what follows them
# (nothing, or an ON CONFLICT clause).
_INSERT_VALUES = re.compile(
    r"\s*INSERT INTO ([\w.]+) \(([\w, ]+)\) VALUES \(((?:\s*(?:%s|-?\d+)\s*,?)+)\)"
    r"(\s*(?:ON CONFLICT\b.*)?)", re.DOTALL)


class PgConnection:
    """The part of ``sqlite3.Connection`` the shared parts use, on one psycopg connection.

    Statements are client-side bound (``ClientCursor``): values become literals of unknown
    type, so ``? IS NULL`` or ``x = ANY('{1,2}')`` type-check the way SQLite's untyped
    parameters do.
    """

    def __init__(self, conn: psycopg.Connection[Any], target: str) -> None:
        self.raw = conn
        self.target = target

    def execute(self, sql: str, params: Any = None) -> psycopg.Cursor[Any]:
        statement = translate(sql)
        cursor = self.raw.cursor()
        # Statements outside write()/read() (plain reads) map faults to store errors too.
        with store_faults(self.target):
            cursor.execute(statement.sql, statement.bind(params))
        return cursor

    def executemany(self, sql: str, rows: Iterable[Any]) -> psycopg.Cursor[Any]:
        """Many rows: a plain ``INSERT ... VALUES`` becomes one COPY (the parts' bulk result
        writes), an upsert a COPY to a staging table and one ``INSERT ... SELECT``, anything
        else psycopg's pipelined ``executemany``."""
        statement = translate(sql)
        cursor = self.raw.cursor()
        bound = [statement.bind(row) for row in rows]
        if not bound:
            return cursor
        insert = _INSERT_VALUES.fullmatch(statement.sql)
        if insert is None or statement.named or "%" in insert.group(4):
            with store_faults(self.target):
                cursor.executemany(statement.sql, bound)
            return cursor
        table, columns, values, tail = insert.groups()
        items = [item.strip() for item in values.split(",")]
        with store_faults(self.target):
            if not tail.strip():
                self._copy(cursor, table, columns, items, bound)
                return cursor
            # An upsert of many rows: COPY them into a staging table shaped like the target's
            # columns, then one INSERT ... SELECT with the statement's own ON CONFLICT tail.
            shape = hashlib.blake2b(f"{table}({columns})".encode(), digest_size=6).hexdigest()
            stage = f"fg_stage_{shape}"
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS"
                           f" SELECT {columns} FROM {table} WITH NO DATA")
            self._copy(cursor, stage, columns, items, bound)
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}"
                           f" WHERE true {tail}")
            # On a cursor of its own: the returned one keeps the INSERT's rowcount (how many
            # rows were new), which callers such as db copy's import report.
            self.raw.cursor().execute(f"TRUNCATE {stage}")
        return cursor

    @staticmethod
    def _copy(cursor: psycopg.Cursor[Any], table: str, columns: str, items: list[str],
              rows: list[Any]) -> None:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            if all(item == "%s" for item in items):
                for row in rows:
                    copy.write_row(row)
            else:
                # Constants inlined by the part (a run's pk) are integers: put them back in.
                for row in rows:
                    values_of = iter(row)
                    copy.write_row([next(values_of) if item == "%s" else int(item)
                                    for item in items])

    @property
    def in_transaction(self) -> bool:
        return bool(self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)


class PgDatabase(Database):
    """One pooled connection and its transactions, for the parts shared with SQLite."""

    def __init__(self, conninfo: str, *, schema: str | None, target: str,
                 pool_max: int = DEFAULT_POOL_MAX,
                 pool_timeout: float = DEFAULT_POOL_TIMEOUT) -> None:
        self.path = target
        self.schema = schema
        self._pool = pool_for(conninfo, max_size=pool_max, timeout=pool_timeout)
        with store_faults(target):
            raw = self._pool.getconn()
            try:
                if schema is not None:
                    raw.execute(f'SET search_path TO "{schema}"')
                # The writer lock's key: one per schema, so stores in separate schemas of one
                # database do not wait on each other.
                row = raw.execute("SELECT hashtext(current_schema())").fetchone()
            except BaseException:
                self._pool.putconn(raw)
                raise
        self.lock_key = int(row[0]) if row and row[0] is not None else 0
        self.pg = PgConnection(raw, target)
        # The shared parts see the psycopg connection through the sqlite3.Connection slice.
        self.conn = cast(Any, self.pg)

    def close(self) -> None:
        raw = self.pg.raw
        if raw.closed:
            return
        if self.schema is not None and not raw.broken:
            # A connection lost mid-request cannot be reset; the pool discards it instead.
            with contextlib.suppress(psycopg.Error):
                raw.execute("RESET search_path")
        self._pool.putconn(raw)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        raw = self.pg.raw
        with store_faults(self.path):
            raw.execute("BEGIN")
            tx = Tx(self.conn)
            try:
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
                yield tx
                raw.execute("COMMIT" if tx.commit else "ROLLBACK")
            except BaseException:
                if not raw.closed and self.pg.in_transaction:
                    raw.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[Any]:
        raw = self.pg.raw
        with store_faults(self.path):
            raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                yield self.conn
            finally:
                if not raw.closed and self.pg.in_transaction:
                    raw.execute("COMMIT")
