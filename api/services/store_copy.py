"""Copying a whole history from one store to another (``flakegate db copy``), Flask-free.

The copy streams every logical table of :mod:`api.store.transfer` in its order (parents
first), one batch at a time: memory holds one batch, never a table. After each imported batch
the source cursor is saved in the *target* (``save_progress``, durable), so a copy that was
interrupted (killed, network gone) and is started again with the same source continues after
the last saved batch; a batch imported but not yet recorded is simply imported again, which
the idempotent import turns into no change.

The target must be empty, or hold progress of a copy from the same source (the source URL
without its password is recorded with the progress): anything else is refused before a row
is written, so a copy never mixes two histories.

Verification reads both sides again and compares, per logical table, the row count and a
checksum: the sum modulo 2**128 of each canonical row's 128-bit digest. A sum does not depend
on the order rows come in (each backend pages in its own order) and needs no memory beyond
the running total, yet any changed, missing or extra row changes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from api.store.base import Store
from api.store.transfer import TABLES, Progress, row_digest

_MOD = 2**128


class CopyRefused(Exception):
    """The target holds other data, or another copy's progress."""


@dataclass(frozen=True, slots=True)
class TableSummary:
    rows: int
    checksum: str  # 32 hex digits


@dataclass
class CopyReport:
    copy_id: str
    resumed: bool
    copied: dict[str, int] = field(default_factory=dict)  # rows imported this time (new)
    source: dict[str, TableSummary] = field(default_factory=dict)
    target: dict[str, TableSummary] = field(default_factory=dict)

    @property
    def mismatched(self) -> list[str]:
        return [name for name in self.source if self.source[name] != self.target.get(name)]


# libpq takes a password in the query too (``?password=``, ``?sslpassword=``).
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


def redact(url: str) -> str:
    """The URL without its passwords, in the user-info or the query, and with ``postgres://``
    spelt ``postgresql://``: what the progress records and reports show, and what tells a
    resumed copy's source from another."""
    parts = urlsplit(url)
    if parts.scheme == "postgres":
        parts = parts._replace(scheme="postgresql")
    if parts.password is not None:
        host = parts.hostname or ""
        if parts.port is not None:
            host += f":{parts.port}"
        user = f"{parts.username}:***@" if parts.username else ":***@"
        parts = parts._replace(netloc=user + host)
    if parts.query:
        query = [(key, "***" if key in _SECRET_PARAMETERS else value)
                 for key, value in parse_qsl(parts.query, keep_blank_values=True)]
        parts = parts._replace(query=urlencode(query, quote_via=quote, safe="*"))
    return urlunsplit(parts)


def summarize(store: Store, table: str, batch: int) -> TableSummary:
    """Count and order-free checksum of one logical table, streamed in batches."""
    rows, total, after = 0, 0, None
    while True:
        page, after = store.transfer.export_rows(table, after, batch)
        rows += len(page)
        for row in page:
            total = (total + row_digest(row)) % _MOD
        if after is None:
            return TableSummary(rows, f"{total:032x}")


def is_empty(store: Store) -> bool:
    return all(not store.transfer.export_rows(t.name, None, 1)[0] for t in TABLES)


def copy_store(source: Store, target: Store, source_url: str, *, batch: int | None = None,
               on_batch: Callable[[str, int], None] | None = None,
               verify: bool = True) -> CopyReport:
    """Copy every logical table of ``source`` into ``target`` (see the module docstring).

    ``batch`` overrides each table's batch size (rows per export and import); ``on_batch``
    is called with the table and the rows done so far after each batch is recorded.
    Raises :class:`CopyRefused` before writing anything when the target is not this copy's.
    """
    label = redact(source_url)
    recorded = target.transfer.load_progress()
    if recorded is not None and recorded.source != label:
        raise CopyRefused(f"the target holds a copy from {recorded.source}, not from {label}")
    if recorded is None and not is_empty(target):
        raise CopyRefused("the target is not empty (copy only into a new, initialised store)")
    copy_id = recorded.copy_id if recorded else secrets.token_hex(8)
    done = recorded.tables if recorded else {}
    report = CopyReport(copy_id, resumed=recorded is not None)
    for table in TABLES:
        state = done.get(table.name, Progress(table.name, None, 0, False))
        size = batch or table.batch
        after, rows, added = state.after, state.rows, 0
        while not state.done:
            page, following = source.transfer.export_rows(table.name, after, size)
            added += target.transfer.import_rows(table.name, page)
            rows += len(page)
            after = following
            state = Progress(table.name, after, rows, after is None)
            target.transfer.save_progress(copy_id, label, state)
            if on_batch is not None:
                on_batch(table.name, rows)
        report.copied[table.name] = added
    if verify:
        for table in TABLES:
            size = batch or table.batch
            report.source[table.name] = summarize(source, table.name, size)
            report.target[table.name] = summarize(target, table.name, size)
    return report
