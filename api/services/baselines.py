"""Baselines: compute a new version from a job's history, loosen latched tests, recompute all.

The statistics are pure (:mod:`api.stats.baseline`); this module gathers the history window
from the store, applies the job's settings, stores the version (with the runs it counted, so a
verdict can remove the judged payload's own runs), and keeps the audit log.

:func:`compute` always stores a version (an explicit request); :func:`refresh` (the server's
schedule, the demo, ``baseline compute --all``) stores one only when something changed: other
runs, other per-test records or other settings than the current version's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.domain import Page
from api.services.catalog import get_job
from api.services.errors import InvalidInput
from api.services.job_settings import JobSettings
from api.stats.baseline import compute_baseline
from api.stats.types import ComputedBaseline, TestKey
from api.store import AuditEntry, BaselineVersion, HistoryWindow, NotFound, Store
from api.store.cursor import decode_offset, encode_offset

MIN_RUNS = 3
"""A job's first baseline waits for this many counted runs in its window (see :func:`refresh`)."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A version as it would be stored: its window settings, runs and computed records."""

    window_days: int
    max_runs: int
    exclude_payload: str | None
    latch: bool
    run_ids: tuple[str, ...]
    computed: ComputedBaseline


def _candidate(store: Store, job: str, *, window_days: int | None, max_runs: int | None,
               exclude_payload: str | None, unlatch: Iterable[TestKey],
               now: datetime | None) -> _Candidate:
    settings = JobSettings.of(get_job(store, job))
    window_days = settings.window_days if window_days is None else window_days
    max_runs = settings.max_runs if max_runs is None else max_runs
    now = now or datetime.now(UTC)
    window = HistoryWindow(since=now - timedelta(days=window_days), max_runs=max_runs,
                           exclude_payload=exclude_payload)
    chosen = store.history_window(job, window)
    previous = None
    if settings.latch:
        current = store.get_baseline(job)
        previous = store.baseline_tests(job, current.version) if current else None
    computed = compute_baseline(chosen.tallies, previous=previous, latch=settings.latch,
                                unlatch=unlatch)
    return _Candidate(window_days=window_days, max_runs=max_runs,
                      exclude_payload=exclude_payload, latch=settings.latch,
                      run_ids=chosen.run_ids, computed=computed)


def _store(store: Store, job: str, candidate: _Candidate, *, note: str | None,
           audit: AuditEntry | None) -> BaselineVersion:
    return store.put_baseline(
        job,
        window_days=candidate.window_days,
        max_runs=candidate.max_runs,
        exclude_payload=candidate.exclude_payload,
        latch=candidate.latch,
        runs=len(candidate.run_ids),
        prior=candidate.computed.prior,
        tests=candidate.computed.tests,
        note=note,
        audit=audit,
        run_ids=candidate.run_ids,
    )


def compute(store: Store, job: str, *, window_days: int | None = None,
            max_runs: int | None = None, exclude_payload: str | None = None,
            unlatch: Iterable[TestKey] = (), note: str | None = None,
            audit: AuditEntry | None = None, now: datetime | None = None) -> BaselineVersion:
    """Compute and store the next baseline version of ``job``; arguments override settings."""
    candidate = _candidate(store, job, window_days=window_days, max_runs=max_runs,
                           exclude_payload=exclude_payload, unlatch=unlatch, now=now)
    return _store(store, job, candidate, note=note, audit=audit)


def _same(store: Store, current: BaselineVersion, candidate: _Candidate) -> bool:
    """Whether ``candidate`` would store what ``current`` holds (the prior is a function of
    the records, so it is not compared)."""
    if (current.window_days, current.max_runs, current.exclude_payload, current.latch,
            current.runs) != (candidate.window_days, candidate.max_runs,
                              candidate.exclude_payload, candidate.latch,
                              len(candidate.run_ids)):
        return False
    if store.baseline_run_ids(current.job, current.version) != frozenset(candidate.run_ids):
        return False
    stored = {test.key: test for test in store.baseline_tests(current.job, current.version)}
    return stored == {test.key: test for test in candidate.computed.tests}


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What :func:`refresh` did to one job: ``written`` tells a new version from the current
    one kept; ``version`` is ``None`` while the job has too little history for a first one."""

    job: str
    version: BaselineVersion | None
    written: bool
    runs: int  # counted runs in the window

    def describe(self) -> str:
        if self.version is None:
            return (f"{self.job}: no baseline yet ({self.runs} counted run(s) in the window,"
                    f" {MIN_RUNS} needed)")
        v = self.version
        if not self.written:
            return f"{self.job}: baseline v{v.version} unchanged ({v.runs} runs, {v.tests} tests)"
        return (f"{self.job}: baseline v{v.version} from {v.runs} runs, {v.tests} tests, prior "
                f"Beta({v.prior.alpha:.3g}, {v.prior.beta:.3g})")


def refresh(store: Store, job: str, *, window_days: int | None = None,
            max_runs: int | None = None, note: str | None = None,
            now: datetime | None = None) -> Refreshed:
    """Store a new version of ``job`` only if it would differ from the current one.

    A job with no baseline gets its first once its window holds :data:`MIN_RUNS` counted runs
    (less is too little to judge by; the verdict then says the job has no baseline). No
    ``exclude_payload``: a verdict removes the judged payload's own runs itself.
    """
    candidate = _candidate(store, job, window_days=window_days, max_runs=max_runs,
                           exclude_payload=None, unlatch=(), now=now)
    runs = len(candidate.run_ids)
    current = store.get_baseline(job)
    if current is None and runs < MIN_RUNS:
        return Refreshed(job, None, False, runs)
    if current is not None and _same(store, current, candidate):
        return Refreshed(job, current, False, runs)
    return Refreshed(job, _store(store, job, candidate, note=note, audit=None), True, runs)


def loosen(store: Store, job: str, tests: Iterable[TestKey], *, reason: str, actor: str,
           now: datetime | None = None) -> BaselineVersion:
    """Let the named latched tests take their window's (lower) pass rate, with an audit entry.

    The new version reuses the current version's window, so the only change is the loosening.
    """
    current = store.get_baseline(job)
    if current is None:
        raise NotFound(f"job {job!r} has no baseline to loosen; compute one first")
    keys = tuple(dict.fromkeys(tests))
    known = {test.key for test in store.baseline_tests(job, current.version)}
    unknown = [f"{suite}::{name}" if suite else name for suite, name in keys if (suite, name)
               not in known]
    if unknown:
        raise InvalidInput({"tests": [f"not in baseline version {current.version}: "
                                      + ", ".join(unknown[:20])]})
    entry = AuditEntry(job=job, action="loosen", actor=actor, reason=reason, tests=keys,
                       version=None, at=now or datetime.now(UTC))
    return compute(store, job, window_days=current.window_days, max_runs=current.max_runs,
                   exclude_payload=current.exclude_payload, unlatch=keys,
                   note=f"loosened {len(keys)} test(s): {reason}", audit=entry, now=now)


def job_names(store: Store) -> Iterator[str]:
    """Every job's name, a page at a time."""
    cursor = None
    while True:
        page = store.list_jobs(limit=500, cursor=cursor)
        yield from (job.name for job in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return


def recompute_all(store: Store, *, now: datetime | None = None) -> list[Refreshed]:
    """Refresh every job's baseline (``baseline compute --all``)."""
    return [refresh(store, name, now=now) for name in job_names(store)]


def list_versions(store: Store, job: str, *, limit: int, cursor: str | None) -> Page:
    get_job(store, job)
    return store.list_baselines(job, limit=limit, cursor=cursor)


def audit_log(store: Store, job: str, *, limit: int, cursor: str | None) -> Page:
    get_job(store, job)
    return store.list_audit(job, limit=limit, cursor=cursor)


def page_of_tests(store: Store, job: str, *, version: int | None, limit: int,
                  cursor: str | None) -> tuple[BaselineVersion, Page]:
    """One baseline version (the current one by default) and a page of its test records."""
    get_job(store, job)
    found = store.get_baseline(job, version)
    if found is None:
        which = f"version {version}" if version else "baseline"
        raise NotFound(f"job {job!r} has no {which}; POST /jobs/{{job}}/baselines computes one")
    tests = store.baseline_tests(job, found.version)
    start = decode_offset(cursor)
    end = start + limit
    return found, Page(items=tuple(tests[start:end]),
                       next_cursor=encode_offset(end) if end < len(tests) else None)
