"""The payload verdict: aggregate every counted run of each job against its stored baseline.

Per job: ``pending`` while fewer runs finished than expected and the payload's deadline has not
passed; otherwise the job's policy judges the tallies of its counted runs (``success`` and
``failure``; ``error`` and ``aborted`` are infrastructure outcomes, never evidence). The payload
fails if any job fails, is pending if any job is pending, and passes otherwise. A run still
``pending`` longer than its job's ``run_timeout`` after it started (or was created) counts as
finished in ``error`` (never as evidence), noted as ``notes["stale_pending"]``, so a lost
upload cannot hold a payload pending forever.

Failure causes (SPEC §10, :mod:`api.services.verdict_failures`): each job's failed runs are
classified and the verdict carries them (counts, per-run causes, the summary line). A failed run
whose decisive cause carries one of the job's ``excuse`` tags is excused: like an ``error`` run
it is finished but not counted, and its tests are not evidence; the reason names those runs.

No silent pass (SPEC section 5, fail-safe rules): a job without a usable baseline (none, or
one of zero runs) carries a :class:`VerdictWarning` (``no_baseline``), repeated in the
payload's list, that the CLI, the action and the Markdown show; with the job setting
``require_baseline`` it fails outright. Whatever the policy, the fail-safe floor of
:mod:`api.stats.floor` still blocks a test that failed every one of at least 3 counted runs.

A :class:`VerdictCache` (the API keeps one per app) holds verdicts validated by a *stamp* that
changes whenever anything the verdict depends on changes (a run of the payload, the
registration, a job's settings, a new baseline version, the deadline passing), so the cache
never serves a stale verdict and the stamp doubles as the ``ETag``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from api.domain import Job, Payload
from api.services import verdict_disruption, verdict_failures
from api.services.failures import DEFAULT_GENERIC_SHARE, JobFailures, PayloadFailures
from api.services.job_settings import JobSettings
from api.services.verdict_disruption import DisruptionSection
from api.stats import DEFAULT_POLICY, evaluate
from api.stats.evidence import evidence_from_columns
from api.stats.floor import FLOOR_RUNS
from api.stats.types import NoteKind, PolicyResult, Regression
from api.store import BaselineVersion, NotFound, PayloadJobRuns, Store

PASS, FAIL, PENDING = "pass", "fail", "pending"
STALE_PENDING = "stale_pending"
EXCUSED = "excused"  # failed runs excused by the job's ``excuse`` setting (not evidence)


@dataclass(frozen=True, slots=True)
class RunsSummary:
    expected: int
    finished: int
    counted: int
    pending: int


@dataclass(frozen=True, slots=True)
class VerdictWarning:
    """Something the reader of a verdict must know, with a stable ``code`` tools can match."""

    code: str
    job: str
    message: str


NO_BASELINE = "no_baseline"


@dataclass(frozen=True, slots=True)
class JobVerdict:
    job: str
    verdict: str
    policy: str
    runs: RunsSummary
    baseline: BaselineVersion | None
    tests_checked: int
    regressions: tuple[Regression, ...]
    notes: dict[str, int]
    reason: str
    warnings: tuple[VerdictWarning, ...] = ()
    disruption: DisruptionSection | None = None
    failures: JobFailures | None = None  # the job's failed runs, classified


@dataclass(frozen=True, slots=True)
class PayloadVerdict:
    payload: str
    verdict: str
    policy: str
    deadline: datetime | None
    deadline_passed: bool
    jobs: tuple[JobVerdict, ...]
    etag: str
    warnings: tuple[VerdictWarning, ...] = ()  # every job's, in job order


@dataclass(frozen=True, slots=True)
class _JobInputs:
    job: Job
    runs: PayloadJobRuns | None
    expected: int
    baseline: BaselineVersion | None
    stale: int = 0  # pending runs older than the job's run_timeout: judged as errors


class VerdictCache:
    """A small LRU of one store's verdicts by (payload, policy), validated by the stamp."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], PayloadVerdict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], etag: str) -> PayloadVerdict | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found.etag != etag:
                return None
            self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], verdict: PayloadVerdict) -> None:
        with self._lock:
            self._entries[key] = verdict
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def _gather(store: Store, payload_id: str) -> tuple[Payload | None, list[_JobInputs]]:
    """The verdict's inputs from one store call, whatever the number of jobs."""
    found = store.verdict_inputs(payload_id)
    payload = found.payload
    runs_by_job = {summary.job: summary for summary in found.runs}
    names = list(dict.fromkeys([*(payload.expected if payload else {}), *runs_by_job]))
    if payload is None and not names:
        raise NotFound(f"no payload {payload_id!r}: nothing registered and no runs reference it")
    inputs = []
    for name in names:
        job = found.jobs.get(name) or Job(name=name)
        runs = runs_by_job.get(name)
        expected = (payload.expected.get(name) if payload else None) or job.expected_runs \
            or (runs.total if runs else 0)
        inputs.append(_JobInputs(job=job, runs=runs, expected=expected,
                                 baseline=found.baselines.get(name)))
    return payload, inputs


def _stamp(payload_id: str, payload: Payload | None, inputs: Sequence[_JobInputs],
           deadline_passed: bool, policy: str | None, sections: tuple[Any, ...] = ()) -> str:
    """The verdict's ETag; ``sections`` is what the optional sections (disruption, failure
    causes) depend on besides the runs."""
    parts: list[Any] = [payload_id, policy, deadline_passed,
                        payload.updated_at if payload else None, sections]
    for item in inputs:
        runs = item.runs
        parts.append((item.job.name, item.job.updated_at, item.expected,
                      item.baseline.version if item.baseline else None,
                      (runs.total, runs.finished, runs.counted, runs.last_change)
                      if runs else None, item.stale))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PreparedVerdict:
    """Everything a verdict depends on, gathered once; ``etag`` identifies its result."""

    payload_id: str
    policy: str | None
    payload: Payload | None
    inputs: tuple[_JobInputs, ...]
    deadline_passed: bool
    etag: str
    failures: PayloadFailures | None = None


def _deadline_passed(payload: Payload | None, now: datetime | None) -> bool:
    if payload is None or payload.deadline is None:
        return False
    return (now or datetime.now(UTC)) >= payload.deadline


def _stale(item: _JobInputs, now: datetime) -> int:
    """How many of the job's pending runs of the payload outlived its ``run_timeout``."""
    if item.runs is None or not item.runs.pending_since:
        return 0
    cutoff = now - JobSettings.of(item.job).timeout
    return sum(1 for since in item.runs.pending_since if since < cutoff)


def prepare(store: Store, payload_id: str, *, policy: str | None = None,
            now: datetime | None = None,
            generic_share: float = DEFAULT_GENERIC_SHARE) -> PreparedVerdict:
    """Gather the verdict's inputs (cheap: no test results are read) and its ETag."""
    payload, inputs = _gather(store, payload_id)
    moment = now or datetime.now(UTC)
    inputs = [replace(item, stale=_stale(item, moment)) for item in inputs]
    deadline_passed = _deadline_passed(payload, moment)
    failures = verdict_failures.gather(store, payload_id, {i.job.name: i.job for i in inputs},
                                       generic_share=generic_share)
    etag = _stamp(payload_id, payload, inputs, deadline_passed, policy,
                  (verdict_disruption.stamp(store), verdict_failures.stamp(failures)))
    return PreparedVerdict(payload_id=payload_id, policy=policy, payload=payload,
                           inputs=tuple(inputs), deadline_passed=deadline_passed,
                           etag=etag, failures=failures)


def judge(store: Store, prepared: PreparedVerdict, *,
          cache: VerdictCache | None = None) -> PayloadVerdict:
    """The verdict of ``prepared``; ``cache`` must hold verdicts of ``store`` only."""
    key = (prepared.payload_id, prepared.policy or "")
    if cache is not None and (hit := cache.get(key, prepared.etag)) is not None:
        return hit
    failures = prepared.failures
    jobs = tuple(_judge_job(store, prepared.payload_id, item, prepared.policy,
                            prepared.deadline_passed,
                            failures.of(item.job.name) if failures else None)
                 for item in prepared.inputs)
    verdicts = {job.verdict for job in jobs}
    overall = FAIL if FAIL in verdicts else PENDING if PENDING in verdicts else PASS
    payload = prepared.payload
    result = PayloadVerdict(payload=prepared.payload_id, verdict=overall,
                            policy=prepared.policy or DEFAULT_POLICY,
                            deadline=payload.deadline if payload else None,
                            deadline_passed=prepared.deadline_passed, jobs=jobs,
                            etag=prepared.etag,
                            warnings=tuple(w for job in jobs for w in job.warnings))
    if cache is not None:
        cache.put(key, result)
    return result


def judge_payload(store: Store, payload_id: str, *, policy: str | None = None,
                  now: datetime | None = None,
                  cache: VerdictCache | None = None) -> PayloadVerdict:
    """Prepare and judge in one call (the benchmarks', the CLI tests' and the demo's way)."""
    return judge(store, prepare(store, payload_id, policy=policy, now=now), cache=cache)


def _judge_job(store: Store, payload_id: str, item: _JobInputs, policy_override: str | None,
               deadline_passed: bool, failures: JobFailures | None = None) -> JobVerdict:
    settings = JobSettings.of(item.job)
    policy = policy_override or item.job.policy or DEFAULT_POLICY
    runs = item.runs
    finished = (runs.finished if runs else 0) + item.stale
    excused = verdict_failures.excused_run_ids(failures)
    counted = (runs.counted if runs else 0) - len(excused)  # excused: as if in error
    summary = RunsSummary(expected=item.expected, finished=finished, counted=counted,
                          pending=max(0, item.expected - finished))
    stale_notes = {STALE_PENDING: item.stale} if item.stale else {}
    stale_notes |= {EXCUSED: len(excused)} if excused else {}
    stale_reason = (f"; {item.stale} run(s) still pending after the job's run_timeout "
                    f"({settings.run_timeout}) counted as error" if item.stale else "")
    stale_reason += verdict_failures.excused_reason(failures)

    usable = _usable(item.baseline)
    warnings = () if usable else (_no_baseline_warning(item.job.name, item.baseline,
                                                       settings.require_baseline),)

    def verdict_without_tests(verdict: str, reason: str) -> JobVerdict:
        return JobVerdict(job=item.job.name, verdict=verdict, policy=policy, runs=summary,
                          baseline=item.baseline, tests_checked=0, regressions=(),
                          notes=stale_notes, reason=reason + stale_reason, warnings=warnings,
                          failures=failures)

    if finished < item.expected and not deadline_passed:
        return verdict_without_tests(
            PENDING, f"{finished} of {item.expected} expected runs finished")
    if counted == 0:
        infra = finished - counted - len(excused)
        why = (f"no run finished of {item.expected} expected, and the deadline has passed"
               if finished == 0 else
               f"none of the {finished} finished runs counts as evidence "
               f"({infra} ended in error or were aborted"
               + (f", {len(excused)} excused)" if excused else ")"))
        return verdict_without_tests(FAIL, why)
    if not usable and settings.require_baseline:
        return verdict_without_tests(
            FAIL, "no usable baseline, and the job requires one (setting require_baseline): "
                  "compute one with POST /jobs/{job}/baselines")
    columns = verdict_failures.excused_evidence(
        store, item.job.name, store.payload_evidence(
            item.job.name, payload_id, item.baseline.version if item.baseline else None),
        failures)
    evidence = evidence_from_columns(
        columns.suites, columns.names, columns.counts, columns.history, columns.absent,
        informing=settings.is_informing if settings.informing else None,
        flagged=columns.informing)
    result: PolicyResult = evaluate(
        policy, evidence, None, item.baseline.prior if item.baseline else None,
        informing=settings.is_informing if settings.informing else None,
        **settings.knobs(policy),
    )
    verdict = JobVerdict(job=item.job.name, verdict=result.verdict.value, policy=policy,
                         runs=summary, baseline=item.baseline,
                         tests_checked=result.tests_checked, regressions=result.regressions,
                         notes={**result.note_counts, **stale_notes},
                         reason=_reason(result, summary, item.baseline, deadline_passed)
                         + stale_reason,
                         warnings=warnings, failures=failures)
    return verdict_disruption.apply(store, payload_id, settings, verdict)


def _usable(baseline: BaselineVersion | None) -> bool:
    """A baseline judges something only if it was computed from at least one run."""
    return baseline is not None and baseline.runs > 0


def _no_baseline_warning(job: str, baseline: BaselineVersion | None,
                         required: bool) -> VerdictWarning:
    what = ("no baseline" if baseline is None
            else f"baseline v{baseline.version} holds no runs")
    then = ("the job fails until one is computed" if required else
            "every test is judged as new; only a test failing every one of at least "
            f"{FLOOR_RUNS} counted runs blocks")
    return VerdictWarning(code=NO_BASELINE, job=job,
                          message=f"job {job!r} has {what}: {then} (POST /jobs/{{job}}/baselines)")


def _reason(result: PolicyResult, runs: RunsSummary, baseline: BaselineVersion | None,
            deadline_passed: bool) -> str:
    parts = []
    if result.regressions:
        parts.append(f"{len(result.regressions)} regressed test(s) of {result.tests_checked}")
    else:
        parts.append(f"no regression in {result.tests_checked} tests")
    parts.append(f"over {runs.counted} counted run(s)")
    if runs.finished < runs.expected and deadline_passed:
        parts.append(f"deadline passed with {runs.finished} of {runs.expected} runs finished: "
                     "judged what finished")
    if baseline is None:
        parts.append("no baseline yet: every test judged as new (POST /jobs/{job}/baselines)")
    new = result.note_counts.get(NoteKind.NEW_TEST.value)
    if new:
        parts.append(f"{new} new test(s) judged on the job's prior")
    return "; ".join(parts)
