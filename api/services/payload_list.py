"""Recent payloads with a verdict summary per job: the home page's read and ``GET /payloads``.

The store pages the payloads (:meth:`~api.store.page_reads.PageReads.recent_payloads`); each
one's summary comes from its verdict through the app's :class:`~api.services.verdicts.
VerdictCache`, validated by the verdict's stamp. So a listing costs, per payload, the cheap
``prepare`` (no test result is read) and, only when something changed since the verdict was
last computed (a run, a baseline, the deadline), a full judgement; a pending job is judged
without reading any evidence. A payload deleted between the two reads is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.domain import Page
from api.services import verdicts
from api.services.failures import DEFAULT_GENERIC_SHARE
from api.store import NotFound, Store


@dataclass(frozen=True, slots=True)
class JobSummary:
    """One job of a payload at a glance."""

    job: str
    verdict: str  # pass | fail | pending
    regressions: int
    failed_runs: int  # runs of the payload that ended in failure
    pending_runs: int  # expected runs not finished yet
    expected_runs: int
    finished_runs: int
    deadline: datetime | None  # the payload's deadline, while the job is pending


@dataclass(frozen=True, slots=True)
class PayloadSummary:
    payload: str
    first_seen: datetime
    registered: bool
    verdict: str
    deadline: datetime | None
    deadline_passed: bool
    warnings: int  # how many warnings the verdict carries (no baseline, ...)
    jobs: tuple[JobSummary, ...]


def _job_summary(job: verdicts.JobVerdict, deadline: datetime | None) -> JobSummary:
    return JobSummary(job=job.job, verdict=job.verdict, regressions=len(job.regressions),
                      failed_runs=len(job.failures.causes) if job.failures else 0,
                      pending_runs=job.runs.pending, expected_runs=job.runs.expected,
                      finished_runs=job.runs.finished,
                      deadline=deadline if job.verdict == verdicts.PENDING else None)


def recent_payloads(store: Store, *, limit: int, cursor: str | None = None,
                    cache: verdicts.VerdictCache | None = None,
                    generic_share: float = DEFAULT_GENERIC_SHARE,
                    now: datetime | None = None) -> Page:
    """A page of :class:`PayloadSummary`, newest payload first."""
    page = store.page_reads.recent_payloads(limit=limit, cursor=cursor)
    items = []
    for seen in page.items:
        try:
            prepared = verdicts.prepare(store, seen.id, now=now, generic_share=generic_share)
        except NotFound:
            continue
        verdict = verdicts.judge(store, prepared, cache=cache)
        items.append(PayloadSummary(
            payload=seen.id, first_seen=seen.first_seen, registered=seen.registered,
            verdict=verdict.verdict, deadline=verdict.deadline,
            deadline_passed=verdict.deadline_passed, warnings=len(verdict.warnings),
            jobs=tuple(_job_summary(job, verdict.deadline) for job in verdict.jobs)))
    return Page(tuple(items), page.next_cursor)
