"""Connections and versioned migrations for the SQLite backend.

Migrations are the numbered ``migrations/NNNN_name.sql`` files, applied in number order. A
number may be missing (changes developed side by side take their numbers up front, and one may
land before another); each migration not yet recorded in ``schema_version`` is applied, so one
merged later with a lower number is still applied once. Each is applied in its own
``BEGIN IMMEDIATE`` transaction together with its ``schema_version`` row, so a migration is
either wholly in force or not at all, and concurrent migrators (several gunicorn workers
starting at once) serialise on the write lock and re-check the version once they hold it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from api.pages_urls import key_for_test
from api.store.base import StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """Split into statements; ``complete_statement`` keeps trigger bodies in one piece.

        ``executescript`` cannot be used: it commits any open transaction first, which would
        break the one-transaction-per-migration guarantee.
        """
        out: list[str] = []
        buf = ""
        for line in self.sql.splitlines(keepends=True):
            buf += line
            if sqlite3.complete_statement(buf):
                if _strip_comments(buf):
                    out.append(buf.strip())
                buf = ""
        if _strip_comments(buf):
            raise ValueError(f"migration {self.version:04d} ends with an incomplete statement")
        return out


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).strip()


@cache
def load_migrations(directory: Path = MIGRATIONS_DIR) -> tuple[Migration, ...]:
    found: list[Migration] = []
    for path in sorted(directory.iterdir()):
        match = _NAME.match(path.name)
        if match is None:
            continue
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != sorted(set(versions)) or (versions and versions[0] != 1):
        raise ValueError(f"migrations must be numbered from 1, each number once, found {versions}")
    return tuple(found)


def current_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    (version,) = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(version)


def applied_versions(conn: sqlite3.Connection) -> set[int]:
    if current_version(conn) == 0:
        return set()
    return {int(row[0]) for row in conn.execute("SELECT version FROM schema_version")}


def apply_migrations(conn: sqlite3.Connection, migrations: tuple[Migration, ...]) -> int:
    """Apply every one of ``migrations`` not yet applied; returns the version in force."""
    latest = migrations[-1].version if migrations else 0
    version = current_version(conn)
    if version > latest:
        raise StoreError(
            f"database schema version {version} is newer than this code knows ({latest})"
        )
    applied = applied_versions(conn)
    for migration in migrations:
        if migration.version in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
            # Another process may have applied it while we waited for the write lock.
            if migration.version in applied_versions(conn):
                conn.execute("COMMIT")
                continue
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time_ns() // 1000),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return current_version(conn)


def connect(path: str | os.PathLike[str], *, busy_timeout: float,
            create: bool = True) -> sqlite3.Connection:
    """Open a connection in autocommit mode with the pragmas every connection needs.

    Opening must stay cheap (the app opens one store per request or thread): a few pragmas,
    no schema work. Transactions are issued explicitly (``isolation_level=None``) because the
    implicit ones of the sqlite3 module start lazily and as DEFERRED, which would let two
    writers read, then deadlock upgrading to a write lock.
    """
    target = os.fspath(path)
    if not create and target != ":memory:":
        # mode=rw: a missing file is an error rather than a new, empty database.
        target = Path("/" + os.path.abspath(target).lstrip("/")).as_uri() + "?mode=rw"
    conn = sqlite3.connect(
        target, timeout=busy_timeout, isolation_level=None, check_same_thread=True,
        uri=not create,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        # The test key of the pages (migration 0014 and interning compute it in SQL).
        conn.create_function("flakegate_test_key", 2, key_for_test, deterministic=True)
        # WAL is a property of the file: only switch when needed, since switching takes an
        # exclusive lock that would make every open contend with the writers.
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        if mode.lower() not in ("wal", "memory"):
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode.lower() != "wal":
                raise StoreError(f"cannot put {os.fspath(path)!r} in WAL mode (got {mode!r})")
    except BaseException:
        conn.close()
        raise
    return conn
