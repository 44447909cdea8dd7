"""Baselines: compute a new version from a job's history, loosen latched tests, recompute all.

The statistics are pure (:mod:`api.stats.baseline`); this module gathers the history window
from the store, applies the job's settings, stores the version, and keeps the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from api.domain import Page
from api.services.catalog import get_job
from api.services.errors import InvalidInput
from api.services.job_settings import JobSettings
from api.stats.baseline import compute_baseline
from api.stats.types import TestKey
from api.store import AuditEntry, BaselineVersion, HistoryWindow, NotFound, Store
from api.store.cursor import decode_offset, encode_offset


def compute(store: Store, job: str, *, window_days: int | None = None,
            max_runs: int | None = None, exclude_payload: str | None = None,
            unlatch: Iterable[TestKey] = (), note: str | None = None,
            audit: AuditEntry | None = None, now: datetime | None = None) -> BaselineVersion:
    """Compute and store the next baseline version of ``job``; arguments override settings."""
    settings = JobSettings.of(get_job(store, job))
    window_days = settings.window_days if window_days is None else window_days
    max_runs = settings.max_runs if max_runs is None else max_runs
    now = now or datetime.now(UTC)
    window = HistoryWindow(since=now - timedelta(days=window_days), max_runs=max_runs,
                           exclude_payload=exclude_payload)
    runs, tallies = store.history_tallies(job, window)
    previous = None
    if settings.latch:
        current = store.get_baseline(job)
        previous = store.baseline_tests(job, current.version) if current else None
    computed = compute_baseline(tallies, previous=previous, latch=settings.latch,
                                unlatch=unlatch)
    return store.put_baseline(
        job,
        window_days=window_days,
        max_runs=max_runs,
        exclude_payload=exclude_payload,
        latch=settings.latch,
        runs=runs,
        prior=computed.prior,
        tests=computed.tests,
        note=note,
        audit=audit,
    )


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


def recompute_all(store: Store, *, now: datetime | None = None) -> list[BaselineVersion]:
    """A new version for every job (the ``--recompute-every`` schedule)."""
    versions = []
    cursor = None
    while True:
        page = store.list_jobs(limit=500, cursor=cursor)
        for job in page.items:
            versions.append(compute(store, job.name, now=now))
        cursor = page.next_cursor
        if cursor is None:
            return versions


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
