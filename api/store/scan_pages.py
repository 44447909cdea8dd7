"""The store part a background scan reads through (issue 13, scan speed): pages of stored logs
with the pattern versions each already had applied and, where one lacks a version, its text.

A backfill looks at every stored log once. Reading that through the log walk, the batched
applied-versions read and the batched text read costs three queries and several Python objects
per log (a :class:`~api.store.logs.LogRef` and its datetimes, dicts of versions), which is most
of what a one-pattern backfill costs on SQLite. This part returns plain tuples, and a backend
may read all three in one query (:mod:`api.store.sqlite.scan_pages`); :class:`ComposedScanPages`
composes the existing calls for any backend (BigQuery).

Contract (``tests/store/test_contract_scan_pages.py`` runs it on every backend):

* ``scan_page`` walks the same logs, in the same ``(job, run_id, step)`` order and with the
  same cursors as :meth:`~api.store.logs.LogStore.logs_page` (a cursor of either resumes the
  other), each as a :class:`ScanItem`.
* ``applied`` is the versions of the patterns named in ``versions`` already applied to the log
  (``"id:version"`` joined by ``","`` in id order; ``""`` for none): equal texts mean equal
  versions, so a scanner groups logs by it without parsing it (:func:`parse_applied` does).
* ``texts`` returns the text of each item given as its UTF-8 bytes (as ``put_log`` stored it,
  lone surrogates passed through), in order (``None`` for a log deleted since): the scanner
  matches bytes, so a text is never decoded only to be encoded again.
  A backend may carry a log's compressed text in ``ScanItem.data`` (only for a log lacking one
  of ``versions``); the items of one page that carry data then hold at most ``max_bytes`` of
  text (a larger log alone), so a page may end before ``limit`` items.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from api.domain import Page
from api.store.logs import LogRef, LogStore
from api.store.patterns import PatternStore


class ScanItem(NamedTuple):
    """A stored log as a scan sees it: ``status`` is the run's (a ``RunStatus`` value), ``size``
    its text's UTF-8 bytes, ``applied`` as in the module docstring, ``data`` backend-private."""

    job: str
    run_id: str
    step: str
    status: str
    size: int
    applied: str
    data: bytes | None = None


def format_applied(applied: Mapping[int, int]) -> str:
    return ",".join(f"{pid}:{applied[pid]}" for pid in sorted(applied))


def parse_applied(applied: str) -> dict[int, int]:
    if not applied:
        return {}
    pairs = (item.split(":") for item in applied.split(","))
    return {int(pid): int(version) for pid, version in pairs}


class ScanPages(abc.ABC):
    """See the module docstring for the contract."""

    @abc.abstractmethod
    def scan_page(self, *, versions: Mapping[int, int], after: str | None = None,
                  since: datetime | None = None, job: str | None = None, limit: int,
                  max_bytes: int) -> Page:
        """A page of :class:`ScanItem` (filters and cursor as ``LogStore.logs_page``)."""

    @abc.abstractmethod
    def texts(self, items: Sequence[ScanItem]) -> list[bytes | None]:
        """The UTF-8 texts of ``items``, in order; ``None`` for a log gone since."""


class ComposedScanPages(ScanPages):
    """:class:`ScanPages` from the log walk, the applied versions and the batched text read."""

    def __init__(self, logs: LogStore, patterns: PatternStore) -> None:
        self._logs = logs
        self._patterns = patterns

    def scan_page(self, *, versions: Mapping[int, int], after: str | None = None,
                  since: datetime | None = None, job: str | None = None, limit: int,
                  max_bytes: int) -> Page:
        found = self._logs.logs_page(after=after, since=since, job=job, limit=limit)
        refs: list[LogRef] = list(found.items)
        by_job: dict[str, list[LogRef]] = {}
        for ref in refs:
            by_job.setdefault(ref.job, []).append(ref)
        applied: dict[tuple[str, str, str], str] = {}
        for name, mine in by_job.items():
            done = self._patterns.applied_versions(name, [(r.run_id, r.step) for r in mine],
                                                   list(versions))
            applied.update(((name, run_id, step), format_applied(v))
                           for (run_id, step), v in done.items())
        items = tuple(ScanItem(r.job, r.run_id, r.step, r.run_status.value, r.size,
                               applied.get((r.job, r.run_id, r.step), "")) for r in refs)
        return Page(items, found.next_cursor)

    def texts(self, items: Sequence[ScanItem]) -> list[bytes | None]:
        found = self._logs.get_texts([(i.job, i.run_id, i.step) for i in items])
        texts = (found.get((i.job, i.run_id, i.step)) for i in items)
        return [None if text is None else text.encode("utf-8", "surrogatepass")
                for text in texts]
