"""Scanning logs for curated patterns (SPEC section 10): on arrival, in the background, on demand.

* **On arrival** (:func:`scan_arrived`, an ``on_log_stored`` listener): a stored log is scanned
  with every live pattern, and the (run, step) records the versions applied.
* **Which logs.** Every log of a run that did not pass is scanned (failed and errored runs are
  what classification reads; a pending run's log is scanned too, since its run usually fails
  or passes right after). Logs of passing runs are **sampled**: one run in
  ``SCAN_PASSING_EVERY`` (default 4; 1 scans all, 0 none), chosen by a hash of (job, run id)
  so that every scan, backfill and server picks the same runs. Passing logs are only read by
  the generic-pattern flag (a share), which a stable sample estimates without scanning every
  green run.
* **Incremental.** Each (run, step) records ``{pattern id: version}`` applied; a scan applies
  only the live patterns whose current version is not yet recorded, so a new pattern scans
  with that pattern only and an edit rescans with the new version (whose matches replace the
  old version's, :meth:`~api.store.patterns.PatternStore.replace_matches`).
* **In the background** (:func:`run_scan`): a new or edited pattern version queues one
  *backfill* (one per version: the store refuses a second), and ``POST /scans`` queues a
  *rescan* of runs since a time. A scan walks the logs a page at a time and persists its cursor
  after each page, under the store lease ``scan:<id>``, so several workers or servers never run
  the same scan at once and a scan whose worker died resumes where it stopped
  (:mod:`api.serving.scan_schedule` runs :func:`run_open_scans` every tick; tests call it
  synchronously).
"""

from __future__ import annotations

import functools
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime

from api.domain import RunStatus
from api.failures.model import LineMatch, Pattern
from api.failures.scan import CompiledSet, applies_to, compile_patterns, scan
from api.store import Store, StoreError
from api.store.patterns import LogScan, ScanKind, ScanRecord, ScanState
from api.store.scan_pages import ScanItem, parse_applied

PAGE = 1000  # logs per page of a background scan: one cursor write per page
#: Texts a scan holds at once (UTF-8 bytes): a page of 64 MiB logs is read a few at a time.
TEXT_BATCH_BYTES = 32 << 20
LEASE_S = 120.0  # a dead worker's scan resumes after this
LEASE_RENEW_S = LEASE_S / 4  # renewed between pages once this much of it has passed
DEFAULT_PASSING_EVERY = 4
_SUCCESS = RunStatus.SUCCESS.value


def scans_log(job: str, run_id: str, status: RunStatus, passing_every: int) -> bool:
    """Whether a log of this run is scanned (see "Which logs")."""
    if status is not RunStatus.SUCCESS:
        return True
    if passing_every <= 0:
        return False
    return zlib.crc32(f"{job}\0{run_id}".encode()) % passing_every == 0


@functools.lru_cache(maxsize=16)
def _compiled(patterns: tuple[Pattern, ...]) -> CompiledSet:
    # Patterns are frozen and hashable: the live set compiles once, not once per log.
    return compile_patterns(patterns)


def scan_text(patterns: Sequence[Pattern], text: str, step: str) -> list[LineMatch]:
    return scan(_compiled(tuple(patterns)), text, step=step) if patterns else []


def scan_arrived(store: Store, job: str, run_id: str, step: str, text: str,
                 status: RunStatus, *, passing_every: int = DEFAULT_PASSING_EVERY) -> int | None:
    """Scan a log just stored with every live pattern; the number of matches, or ``None`` when
    the log is not scanned (a passing run outside the sample)."""
    if not scans_log(job, run_id, status, passing_every):
        return None
    live = store.patterns.live_patterns()
    matches = scan_text(live, text, step)
    store.patterns.replace_matches(job, run_id, step, {p.id: p.version for p in live}, matches)
    return len(matches)


def scan_stored(store: Store, job: str, run_id: str, step: str, *,
                passing_every: int = DEFAULT_PASSING_EVERY) -> int | None:
    """:func:`scan_arrived` for a log already in the store (the ``on_log_stored`` listener:
    :mod:`api.routes.scans` registers it with the server's ``SCAN_PASSING_EVERY``)."""
    run = store.get_run(job, run_id)
    stored = store.logs.get_log(job, run_id, step)
    if run is None or stored is None:  # deleted meanwhile
        return None
    return scan_arrived(store, job, run_id, step, stored.text, run.spec.status,
                        passing_every=passing_every)


def pending(patterns: Sequence[Pattern], applied: dict[int, int]) -> list[Pattern]:
    """The patterns whose current version this log has not had applied."""
    return [p for p in patterns if applied.get(p.id, 0) < p.version]


class _Todo:
    """What logs with the same applied versions and step lack: shared by all of them, so that
    a page of 1000 logs computes it a few times, not once per log."""

    __slots__ = ("_compiled", "patterns", "read", "versions")

    def __init__(self, patterns: Sequence[Pattern], applied: Mapping[int, int],
                 step: str) -> None:
        self.patterns = tuple(pending(patterns, dict(applied)))
        # Read-only once made: every LogScan of these logs shares it.
        self.versions = {p.id: p.version for p in self.patterns}
        # None of them applies to the step: recorded as applied without reading the text.
        self.read = any(applies_to(p, step) for p in self.patterns)
        self._compiled: CompiledSet | None = None

    def compiled(self) -> CompiledSet:
        if self._compiled is None:
            self._compiled = _compiled(self.patterns)
        return self._compiled


def scan_items(store: Store, items: Sequence[ScanItem], patterns: Sequence[Pattern], *,
               passing_every: int) -> tuple[int, int]:
    """Apply the pending patterns to the logs of a scan page; returns (logs scanned, matches).

    Logs are grouped by (applied versions, step) without parsing the versions; a log none of
    whose pending patterns applies to its step is recorded as scanned without reading its
    text; texts are read in batches of at most :data:`TEXT_BATCH_BYTES` and each batch's scans
    written in one call."""
    todos: dict[tuple[str, str], _Todo] = {}
    settled: list[LogScan] = []  # nothing pending applies to the step: no text to read
    to_read: list[tuple[ScanItem, _Todo]] = []
    for item in items:
        if item.status == _SUCCESS and not scans_log(item.job, item.run_id, RunStatus.SUCCESS,
                                                     passing_every):
            continue
        todo = todos.get((item.applied, item.step))
        if todo is None:
            todo = todos[item.applied, item.step] = _Todo(patterns, parse_applied(item.applied),
                                                          item.step)
        if not todo.patterns:
            continue
        if todo.read:
            to_read.append((item, todo))
        else:
            settled.append(LogScan(item.job, item.run_id, item.step, todo.versions, ()))
    if settled:
        store.patterns.replace_matches_batch(settled)
    scanned, found = len(settled), 0
    for batch in _batches(to_read):
        results = _scan_batch(store, batch)
        store.patterns.replace_matches_batch(results)
        scanned += len(results)
        found += sum(len(r.matches) for r in results)
    return scanned, found


def _batches(todo: list[tuple[ScanItem, _Todo]]) -> Iterator[list[tuple[ScanItem, _Todo]]]:
    """``todo`` cut into runs of at most TEXT_BATCH_BYTES of text (a larger log alone)."""
    batch: list[tuple[ScanItem, _Todo]] = []
    held = 0
    for item in todo:
        if batch and held + item[0].size > TEXT_BATCH_BYTES:
            yield batch
            batch, held = [], 0
        batch.append(item)
        held += item[0].size
    if batch:
        yield batch


def _scan_batch(store: Store, batch: list[tuple[ScanItem, _Todo]]) -> list[LogScan]:
    texts = store.scan_pages.texts([item for item, _ in batch])  # UTF-8: what scan() matches
    return [LogScan(item.job, item.run_id, item.step, todo.versions,
                    scan(todo.compiled(), text, step=item.step))
            for (item, todo), text in zip(batch, texts, strict=True)
            if text is not None]  # else deleted meanwhile


def queue_backfill(store: Store, pattern: Pattern, *, actor: str) -> ScanRecord:
    """The backfill of this pattern version (queued once; an existing one is returned)."""
    record, _ = store.patterns.add_scan(ScanKind.BACKFILL, actor=actor, pattern_id=pattern.id,
                                        pattern_version=pattern.version)
    return record


def queue_rescan(store: Store, *, since: datetime | None, job: str | None,
                 actor: str) -> ScanRecord:
    record, _ = store.patterns.add_scan(ScanKind.RESCAN, actor=actor, since=since, job=job)
    return record


def _patterns_of(store: Store, record: ScanRecord) -> list[Pattern]:
    if record.kind is ScanKind.RESCAN:
        return store.patterns.live_patterns()
    assert record.pattern_id is not None
    current = store.patterns.get_pattern(record.pattern_id)
    # A newer version has its own backfill, and a retired pattern scans no more.
    if (current is None or current.retired is not None
            or current.version != record.pattern_version):
        return []
    return [current]


def run_scan(store: Store, scan_id: int, *, holder: str, page: int = PAGE,
             passing_every: int = DEFAULT_PASSING_EVERY, budget_s: float | None = None,
             log: Callable[[str], None] = lambda message: None) -> ScanRecord | None:
    """Run (or resume) one scan until done or ``budget_s`` is spent; ``None`` for an unknown
    scan. Returns the record as it stands; a scan another holder runs is left to it."""
    lease = f"scan:{scan_id}"
    if not store.acquire_lease(lease, holder, LEASE_S):
        return store.patterns.get_scan(scan_id)
    started = renewed = time.monotonic()
    try:
        record = store.patterns.get_scan(scan_id)
        if record is None or record.state in (ScanState.DONE, ScanState.FAILED):
            return record
        cursor, scanned, matched = record.cursor, record.logs_scanned, record.matches
        while True:
            patterns = _patterns_of(store, record)
            if not patterns:
                return store.patterns.update_scan(scan_id, state=ScanState.DONE, cursor=None,
                                                  logs_scanned=scanned, matches=matched)
            found = store.scan_pages.scan_page(
                versions={p.id: p.version for p in patterns}, after=cursor,
                since=record.since, job=record.job, limit=page, max_bytes=TEXT_BATCH_BYTES)
            logs, hits = scan_items(store, found.items, patterns, passing_every=passing_every)
            scanned, matched, cursor = scanned + logs, matched + hits, found.next_cursor
            done = cursor is None
            record = store.patterns.update_scan(
                scan_id, state=ScanState.DONE if done else ScanState.RUNNING, cursor=cursor,
                logs_scanned=scanned, matches=matched)
            if done or (budget_s is not None and time.monotonic() - started > budget_s):
                return record
            if time.monotonic() - renewed > LEASE_RENEW_S:  # still working: keep the lease
                store.acquire_lease(lease, holder, LEASE_S)
                renewed = time.monotonic()
    except StoreError as exc:  # transient: the scan stays open and resumes from its cursor
        log(f"scan {scan_id}: {exc}")
        return store.patterns.get_scan(scan_id)
    finally:
        store.release_lease(lease, holder)


def run_open_scans(store: Store, *, holder: str, passing_every: int = DEFAULT_PASSING_EVERY,
                   budget_s: float | None = None,
                   log: Callable[[str], None] = lambda message: None) -> list[ScanRecord]:
    """Run every queued or interrupted scan, oldest first (what a schedule tick does)."""
    done = []
    started = time.monotonic()
    for record in store.patterns.open_scans():
        left = None if budget_s is None else max(0.0, budget_s - (time.monotonic() - started))
        result = run_scan(store, record.id, holder=holder, passing_every=passing_every,
                          budget_s=left, log=log)
        if result is not None:
            done.append(result)
        if budget_s is not None and time.monotonic() - started > budget_s:
            break
    return done
