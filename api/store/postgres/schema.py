"""Versioned migrations of the PostgreSQL backend (``migrations/NNNN_name.sql``).

The same rules as SQLite's (:mod:`api.store.sqlite.schema`): numbered files applied in order,
a missing number allowed, each migration applied once in one transaction together with its
``schema_version`` row. Concurrent migrators (several servers or workers starting at once)
serialise on a transaction-scoped advisory lock and re-check what is applied once they hold it.
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

from api.store.errors import StoreError
from api.store.sqlite.schema import Migration, load_migrations

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant distinct from the writer lock's keys (those are hashtext of a schema name).
_MIGRATION_LOCK = 0x666C6167  # "flag"


def statements(migration: Migration) -> list[str]:
    """Split on ``;`` at a line end, keeping ``$$``-quoted function bodies whole."""
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    for line in migration.sql.splitlines():
        code = line if quoted else line.split("--", 1)[0]
        if line.count("$$") % 2:
            quoted = not quoted
        buf.append(code)
        if not quoted and code.rstrip().endswith(";"):
            text = "\n".join(buf).strip().rstrip(";")
            if text:
                out.append(text)
            buf = []
    if "\n".join(buf).strip():
        raise ValueError(f"migration {migration.version:04d} ends with an incomplete statement")
    return out


@cache
def pg_migrations() -> tuple[Migration, ...]:
    return load_migrations(MIGRATIONS_DIR)


def applied_versions(raw: Any) -> set[int]:
    exists = raw.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
    if not exists:
        return set()
    return {int(row[0]) for row in raw.execute("SELECT version FROM schema_version")}


def apply_migrations(raw: Any, migrations: tuple[Migration, ...]) -> int:
    """Apply every migration not yet applied on the autocommit connection ``raw``; returns
    the version in force."""
    latest = migrations[-1].version if migrations else 0
    applied = applied_versions(raw)
    if applied and max(applied) > latest:
        raise StoreError(
            f"database schema version {max(applied)} is newer than this code knows ({latest})")
    for migration in migrations:
        if migration.version in applied:
            continue
        raw.execute("BEGIN")
        try:
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            raw.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)")
            if migration.version in applied_versions(raw):
                raw.execute("COMMIT")
                continue
            for statement in statements(migration):
                raw.execute(statement.replace("%", "%%"), ())
            raw.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, time.time_ns() // 1000))
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
    return max(applied_versions(raw), default=0)
