"""The PostgreSQL backend (``postgresql://USER:PASSWORD@HOST:PORT/DB[?schema=NAME]``).

Design choice: one concept, one home. The backend REUSES the SQLite backend's parts (runs,
history, baselines, audit, tokens, crawl ledger, leases, disruption, logs, patterns,
breakages, scan pages; jobs and payloads by subclassing ``SqliteStore``) through a narrow
seam: every part talks to a ``Database`` (``api/store/sqlite/db.py``: ``write()``, ``read()``,
``conn.execute``/``executemany``), and :class:`~api.store.postgres.db.PgDatabase` is such a
Database on a pooled psycopg 3 connection whose statements pass through
:mod:`api.store.postgres.dialect`, a mechanical SQLite-to-PostgreSQL rewrite (placeholders,
``json_each`` lists to arrays, ``group_concat``, two-argument ``max``/``min``, ``IS``,
``INSERT OR IGNORE``) with the same transaction semantics (one serialised writer per schema,
snapshot reads). A new store part is therefore written once, against SQLite, and runs here
unchanged; only the schema is written twice (``migrations/``: PostgreSQL types, identity keys,
a narrow results table), plus, in :mod:`.parts`, a PostgreSQL override of any method whose SQL
does not translate (today: one, ``add_breakage``, which needs ``RETURNING`` for the new id).
Bulk inserts (a run's results, interned names) become COPY, not row-by-row statements.

Writing the parts from scratch was the alternative: it doubles every query, and every later
part (GitHub queue, publication state, UI reads, copy) would be written twice and drift.

Faults map to the store's errors as SQLite's do: an unreachable server, a refused or exhausted
connection, a shutdown -> ``StoreUnavailable`` (503); a full disk -> ``StoreFull`` (507).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from api.store.postgres.store import PostgresStore

__all__ = ["PostgresStore", "open_postgres"]

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def open_postgres(url: str, **options: Any) -> PostgresStore:
    """Open a store on the PostgreSQL database at ``url``.

    ``schema=NAME`` in the query puts flakegate's tables in that schema (tests give each test
    its own); every other query parameter is passed to libpq as a connection parameter (e.g.
    ``sslmode``, ``connect_timeout``). The password never appears in error messages.
    """
    conninfo, schema, shown = connection_parts(url)
    return PostgresStore(conninfo, schema=schema, target=shown, **options)


def connection_parts(url: str) -> tuple[str, str | None, str]:
    """``url`` as libpq's connection URI (flakegate's own ``schema`` taken out), the schema,
    and the name shown in messages (host, port and database: never a password)."""
    parts = urlsplit(url)
    if not parts.hostname or not parts.path.strip("/") or parts.fragment:
        raise ValueError("postgresql URL must be postgresql://USER:PASSWORD@HOST:PORT/DB")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    schema = query.pop("schema", None)
    if schema is not None and not _SCHEMA.fullmatch(schema):
        raise ValueError(f"schema must be a lower-case SQL identifier: {schema!r}")
    query.setdefault("connect_timeout", "5")
    # Encoded again as parse_qsl decoded them: a password or option holding "&", "=", "%" or
    # a space must reach libpq whole (libpq decodes %XX, and "+" is not a space to it).
    encoded = urlencode(sorted(query.items()), quote_via=quote)
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, encoded, ""))
    return conninfo, schema, f"{parts.hostname}:{parts.port or 5432}{parts.path}"
