"""Why failed runs failed (SPEC §10): classify them from their stored matches. Flask-free.

Reads are batched whatever the number of runs: the failed runs (with whether the same job
passed on the same payload) in one read, the ongoing breakages in one, each job's matches in
one, the matched patterns in one, and the coverage of the matched patterns (to leave out the
too-generic ones, which never decide). The pure rules are in :mod:`api.failures.classify`.

A failed run whose decisive cause carries one of its job's ``excuse`` tags (job setting,
default ``["infra"]``) is *excused*: the verdict treats it as an infrastructure outcome, as it
treats an ``error`` run (:mod:`api.services.verdict_failures`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from api.domain import Job, Run, RunStatus
from api.failures.classify import classify, counts, summary, tags_of
from api.failures.clusters import Cluster, Unexplained, cluster, unexplained
from api.failures.model import Classification, FailureClass, Match, Pattern
from api.services.job_settings import JobSettings
from api.services.patterns import generic_flag
from api.store import NotFound, RunFilter, Store
from api.store.breakages import FailedRun

# A payload's failed runs are read at once; more than this many is not a CI payload.
MAX_PAYLOAD_FAILURES = 10_000
# The generic flag decides nothing over fewer scanned logs than this (see generic_ids).
MIN_GENERIC_LOGS = 20
# GENERIC_PATTERN_SHARE's default (api/config.py), for callers without the app's config.
DEFAULT_GENERIC_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class RunCause:
    """One failed run's classification, and the excused tag its decisive cause carries."""

    classification: Classification
    excused_by: str | None = None

    @property
    def excused(self) -> bool:
        return self.excused_by is not None


@dataclass(frozen=True, slots=True)
class JobFailures:
    """A job's failed runs of one payload, classified (newest first)."""

    job: str
    causes: tuple[RunCause, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {cls.value: n for cls, n in counts(c.classification for c in self.causes).items()}

    @property
    def summary(self) -> str:
        return summary(c.classification for c in self.causes)

    @property
    def excused(self) -> tuple[RunCause, ...]:
        return tuple(c for c in self.causes if c.excused)


@dataclass(frozen=True, slots=True)
class PayloadFailures:
    payload: str
    jobs: tuple[JobFailures, ...]  # jobs with failed runs, by name

    def of(self, job: str) -> JobFailures | None:
        return next((j for j in self.jobs if j.job == job), None)

    @property
    def summary(self) -> str:
        return summary(c.classification for j in self.jobs for c in j.causes)


class GenericFlags:
    """Which patterns are too generic to decide a classification, asked lazily and cached.

    A pattern is when the generic flag of ``GET /patterns/{id}`` (:func:`generic_flag`: more
    than ``share`` of the scanned failed, or passing, runs' logs match) is raised over at least
    :data:`MIN_GENERIC_LOGS` such logs: over a handful of logs a share says nothing, and the
    one cause of a young history (a mirror outage) must not be silenced for being common. A
    promoted pattern always decides: a person said it explains what it matches. The flag costs
    a read, so it is computed only for patterns the classification asks about.
    """

    def __init__(self, store: Store, patterns: Mapping[int, Pattern], share: float) -> None:
        self._store, self._patterns, self._share = store, patterns, share
        self._known: dict[int, bool] = {}

    def __contains__(self, pattern_id: object) -> bool:
        if not isinstance(pattern_id, int) or pattern_id not in self._patterns:
            return False
        if pattern_id not in self._known:
            self._known[pattern_id] = self._flagged(pattern_id)
        return self._known[pattern_id]

    def _flagged(self, pattern_id: int) -> bool:
        if self._patterns[pattern_id].promoted:
            return False
        flag = generic_flag(self._store, pattern_id, self._share)
        share = self._share
        return ((flag.failed_share > share and flag.failed_logs >= MIN_GENERIC_LOGS)
                or (flag.passing_share > share and flag.passing_logs >= MIN_GENERIC_LOGS))


def classify_failed(store: Store, failed: Sequence[FailedRun], *,
                    excuse_of: Callable[[str], frozenset[str]] | None = None,
                    generic_share: float = DEFAULT_GENERIC_SHARE) -> dict[str, JobFailures]:
    """Classify ``failed`` (any jobs) with batched reads; by job, runs in the given order.

    ``excuse_of(job)`` gives the job's excused tags (none: nothing is excused);
    ``generic_share`` is the app's ``GENERIC_PATTERN_SHARE``.
    """
    if not failed:
        return {}
    by_job: dict[str, list[FailedRun]] = defaultdict(list)
    for run in failed:
        by_job[run.job].append(run)
    ongoing = store.breakages.ongoing_breakages()
    matches = {job: store.patterns.run_matches(job, [r.run_id for r in runs])
               for job, runs in by_job.items()}
    ids = sorted({m.line.pattern_id for found in matches.values() for ms in found.values()
                  for m in ms})
    patterns: Mapping[int, Pattern] = store.patterns.patterns_by_ids(ids) if ids else {}
    generic = GenericFlags(store, patterns, generic_share)
    out: dict[str, JobFailures] = {}
    for job, runs in by_job.items():
        excuse = excuse_of(job) if excuse_of else frozenset()
        causes = []
        for run in runs:
            found = matches[job].get(run.run_id, [])
            got = classify(job, run.run_id, found, patterns, ongoing, run.passed_on_payload,
                           step_order=_step_order(store, job, run.run_id, found),
                           generic=generic)
            causes.append(RunCause(got, _excused_by(got, patterns, excuse)))
        out[job] = JobFailures(job, tuple(causes))
    return out


def _step_order(store: Store, job: str, run_id: str, found: Sequence[Match]) -> list[str]:
    """The run's steps in the order their logs were stored (the order they ran in), read only
    when its matches span several steps: "latest in the log" then compares steps that way."""
    if len({m.step for m in found}) < 2:
        return []
    logs = store.logs.list_logs(job, run_id)
    return [info.step for info in sorted(logs, key=lambda info: (info.stored_at, info.step))]


def _excused_by(got: Classification, patterns: Mapping[int, Pattern],
                excuse: frozenset[str]) -> str | None:
    if got.decisive is None or not excuse:
        return None
    carried = tags_of(patterns[got.decisive.line.pattern_id]) & excuse
    return min(carried) if carried else None


def excuse_from(jobs: Mapping[str, Job]) -> Callable[[str], frozenset[str]]:
    """The excuse setting of each job in ``jobs`` (a job not there: the default)."""
    def of(name: str) -> frozenset[str]:
        job = jobs.get(name)
        return JobSettings.of(job).excuse if job is not None else JobSettings().excuse
    return of


def payload_failures(store: Store, payload_id: str, jobs: Mapping[str, Job] | None = None, *,
                     generic_share: float = DEFAULT_GENERIC_SHARE) -> PayloadFailures:
    """Every failed run of the payload, classified, with each job's excused runs.

    ``jobs`` (by name) supplies the excuse settings when the caller has read them already;
    otherwise each job with failures is read.
    """
    failed = store.breakages.failed_runs(payload=payload_id, limit=MAX_PAYLOAD_FAILURES)
    if jobs is None:
        names = sorted({run.job for run in failed})
        jobs = {name: job for name in names if (job := store.get_job(name)) is not None}
    found = classify_failed(store, failed, excuse_of=excuse_from(jobs),
                            generic_share=generic_share)
    return PayloadFailures(payload_id, tuple(found[name] for name in sorted(found)))


def run_cause(store: Store, run: Run, *,
              generic_share: float = DEFAULT_GENERIC_SHARE) -> RunCause | None:
    """The cause of one run when it failed (``None`` for any other status)."""
    spec = run.spec
    if spec.status is not RunStatus.FAILURE:
        return None
    passed = spec.payload is not None and bool(store.list_runs(
        spec.job, where=RunFilter(payload=spec.payload, status=RunStatus.SUCCESS),
        limit=1).items)
    failed = FailedRun(job=spec.job, run_id=spec.run_id, payload=spec.payload,
                       at=spec.started_at or run.created_at, passed_on_payload=passed)
    job = store.get_job(spec.job)
    found = classify_failed(store, [failed], excuse_of=excuse_from({spec.job: job} if job else {}),
                            generic_share=generic_share)
    return found[spec.job].causes[0]


def payload_failures_or_404(store: Store, payload_id: str, *,
                            generic_share: float = DEFAULT_GENERIC_SHARE) -> PayloadFailures:
    """``payload_failures`` of a payload that is registered or has runs (else NotFound)."""
    found = payload_failures(store, payload_id, generic_share=generic_share)
    if not found.jobs and store.get_payload(payload_id) is None \
            and not store.payload_runs(payload_id):
        raise NotFound(f"no payload {payload_id!r}: nothing registered and no runs reference it")
    return found


@dataclass(frozen=True, slots=True)
class UnexplainedReport:
    """The ``new`` failures among the failed runs read, clustered by their decisive line."""

    since: datetime
    failed: int  # failed runs classified
    new: int  # of which nothing explains
    without_line: int  # new failures with no decisive line to cluster (no match, no log)
    clusters: tuple[Cluster, ...]


LogLines = Callable[[Sequence[Classification]], Mapping[tuple[str, str], tuple[str, Sequence[str]]]]
"""Given failures without a decisive match, each one's failed step and its log's lines, by
``(job, run_id)`` (failures without a log are absent)."""


def unexplained_clusters(store: Store, *, since: datetime, job: str | None, limit: int,
                         log_lines: LogLines,
                         generic_share: float = DEFAULT_GENERIC_SHARE) -> UnexplainedReport:
    """Cluster the unexplained failures of the newest ``limit`` failed runs since ``since``.

    A failure without a decisive match gets the error line of its failed step's log
    (``log_lines``) as its decisive line.
    """
    failed = store.breakages.failed_runs(since=since, job=job, limit=limit)
    classified = classify_failed(store, failed, generic_share=generic_share)
    new = [c.classification for found in classified.values()
           for c in found.causes if c.classification.failure_class is FailureClass.NEW]
    logs = log_lines([failure for failure in new if failure.decisive is None])
    items: list[Unexplained] = []
    for failure in new:
        step, lines = logs.get((failure.job, failure.run_id), (None, None))
        item = unexplained(failure, step, lines)
        if item is not None:
            items.append(item)
    return UnexplainedReport(since=since, failed=len(failed), new=len(new),
                             without_line=len(new) - len(items), clusters=tuple(cluster(items)))
