"""Storage of jobs, runs, test results, payloads and tokens behind one narrow interface.

``open_store(url)`` picks the backend from the URL scheme; see :mod:`api.store.base` for the
contract every backend keeps.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from api.store.base import (
    AttachedFile,
    AuditEntry,
    BaselineVersion,
    CrawlRecord,
    CrawlState,
    EvidenceColumns,
    HistoryWindow,
    InvalidCursor,
    NotFound,
    PayloadJobRuns,
    RunFilter,
    Store,
    StoreError,
    StoreFull,
    StoreUnavailable,
    TokenInfo,
    VerdictInputs,
)

__all__ = [
    "AttachedFile",
    "AuditEntry",
    "BaselineVersion",
    "CrawlRecord",
    "CrawlState",
    "EvidenceColumns",
    "HistoryWindow",
    "InvalidCursor",
    "NotFound",
    "PayloadJobRuns",
    "RunFilter",
    "Store",
    "StoreError",
    "StoreFull",
    "StoreUnavailable",
    "TokenInfo",
    "VerdictInputs",
    "open_store",
]


def open_store(url: str, *, create: bool = True, **options: Any) -> Store:
    """Open (not migrate) the store at ``url``; ``options`` go to the backend's constructor.

    ``sqlite:///abs/path.db`` opens that file (``sqlite:///:memory:`` a private in-memory
    database); the path is percent-decoded. Migrations are not run here, because opening
    happens per request or thread and must stay cheap: call ``migrate()`` once at start-up.
    ``postgresql://USER:PASSWORD@HOST:PORT/DB[?schema=NAME]`` opens a PostgreSQL database
    through a process-wide connection pool (see :mod:`api.store.postgres`).
    ``create=False`` refuses to create a missing SQLite file (:class:`StoreUnavailable`): the
    app opens stores that way, so a database deleted while serving is never silently replaced
    by an empty one; only ``flakegate db init`` (and ``serve``'s start-up) creates one.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if parts.netloc or parts.query or parts.fragment:
            raise ValueError(
                f"sqlite URL must be sqlite:///absolute/path.db (no host or query): {url!r}"
            )
        path = unquote(parts.path)
        if path == "/:memory:":
            path = ":memory:"
        elif not path.startswith("/") or path == "/":
            raise ValueError(f"sqlite URL needs an absolute file path: {url!r}")
        from api.store.sqlite import SqliteStore

        return SqliteStore(path, create=create, **options)
    if scheme == "bigquery":
        # Both names end up in SQL text as `project.dataset.table`, so they are checked
        # against BigQuery's own naming rules here rather than quoted later.
        project = unquote(parts.netloc)
        dataset = unquote(parts.path).strip("/")
        if parts.query or parts.fragment or not re.fullmatch(r"[a-z][a-z0-9.:-]{0,99}", project) \
                or not re.fullmatch(r"[A-Za-z0-9_]{1,1024}", dataset):
            raise ValueError(
                f"bigquery URL must be bigquery://PROJECT/DATASET (project id, dataset of"
                f" letters, digits and underscores): {url!r}"
            )
        from api.store.bigquery import BigQueryStore

        return BigQueryStore(project, dataset, **options)
    # --- postgresql ---
    if scheme in ("postgresql", "postgres"):
        from api.store.postgres import open_postgres

        return open_postgres(url, **options)
    raise ValueError(f"unsupported store URL scheme {parts.scheme!r} in {url!r}")
