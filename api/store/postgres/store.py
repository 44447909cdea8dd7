"""The PostgreSQL store: SQLite's parts on a pooled PostgreSQL connection (see the package)."""

from __future__ import annotations

from typing import Any

import psycopg

from api.store.errors import StoreError
from api.store.postgres.db import DEFAULT_POOL_MAX, DEFAULT_POOL_TIMEOUT, PgDatabase, store_faults
from api.store.postgres.parts import PgBreakages
from api.store.postgres.schema import apply_migrations, pg_migrations
from api.store.postgres.transfer import PgTransfer
from api.store.sqlite.crawl import SqliteCrawl
from api.store.sqlite.disruption import SqliteDisruption
from api.store.sqlite.history import SqliteHistory
from api.store.sqlite.leases import SqliteLeases
from api.store.sqlite.logs import SqliteLogs
from api.store.sqlite.page_reads import SqlitePageReads
from api.store.sqlite.patterns import SqlitePatterns
from api.store.sqlite.runs import SqliteRuns
from api.store.sqlite.scan_pages import SqliteScanPages
from api.store.sqlite.store import SqliteStore
from api.store.sqlite.tokens import SqliteTokens
from api.store.sqlite.work import SqliteWork


class PostgresStore(SqliteStore):
    """A :class:`~api.store.base.Store` on PostgreSQL; one object per request or thread, as
    for SQLite. Jobs and payloads (inherited) and every part run the shared SQL through
    :class:`PgDatabase`; the parts whose SQL is not portable are subclassed in :mod:`.parts`.
    """

    def __init__(self, conninfo: str, *, schema: str | None = None, target: str = "",
                 pool_max: int = DEFAULT_POOL_MAX,
                 pool_timeout: float = DEFAULT_POOL_TIMEOUT, create: bool = True) -> None:
        # ``create`` is SQLite's guard against silently making a new file; a PostgreSQL
        # database is never created by opening it, so there is nothing to refuse.
        self.path = target or conninfo
        self.busy_timeout = pool_timeout
        self.db: PgDatabase = PgDatabase(conninfo, schema=schema, target=self.path,
                                         pool_max=pool_max, pool_timeout=pool_timeout)
        self._runs = SqliteRuns(self.db)
        self._history = SqliteHistory(self.db)
        self._crawl = SqliteCrawl(self.db)
        self._leases = SqliteLeases(self.db)
        self._tokens = SqliteTokens(self.db)
        self._patterns = SqlitePatterns(self.db)
        self._breakages = PgBreakages(self.db)
        self._logs = SqliteLogs(self.db)
        self._scan_pages = SqliteScanPages(self.db)
        self._disruption = SqliteDisruption(self.db, self._runs)
        self._work = SqliteWork(self.db)  # durable background work (issue 14)
        self._page_reads = SqlitePageReads(self.db)  # the reads behind the pages (issue 15)
        self._transfer = PgTransfer(self.db)  # issue 16: db copy

    @property
    def connection(self) -> Any:
        """The underlying psycopg connection, for diagnostics and tests."""
        return self.db.pg.raw

    def __enter__(self) -> PostgresStore:
        return self

    def migrate(self) -> int:
        with store_faults(self.path):
            return apply_migrations(self.db.pg.raw, pg_migrations())

    def close(self) -> None:
        self.db.close()

    def ping(self) -> None:
        try:
            self.db.pg.raw.execute("SELECT max(version) FROM schema_version").fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"postgresql store {self.path} is not usable: {exc}") from exc

    def integrity_check(self) -> list[str]:
        """PostgreSQL enforces keys and constraints on every write: nothing to find."""
        return []

    def checkpoint(self) -> None:
        """Nothing to fold: PostgreSQL's WAL is the server's business."""
