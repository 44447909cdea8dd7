"""What the payload page shows, gathered from the services (Flask-free): the verdict, every job's
runs with their failure causes and log links, each regression's evidence, the disruption and
alert checks, and the warnings a reader must see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from api import pages_urls
from api.domain import Run, RunStatus
from api.failures.model import Classification
from api.services import verdicts
from api.services.verdicts import JobVerdict, PayloadVerdict
from api.stats.types import Regression
from api.store import RunFilter, Store
from api.store.page_reads import TestOutcome

RUNS_SHOWN = 200  # a payload's runs of one job; CI payloads have a handful to a few dozen
STRIP_RUNS = 30  # the recent outcomes a regression's history strip shows
STRIPS_SHOWN = 50  # regressions of a job with a strip (one read each); the rest link only
REGRESSIONS_SHOWN = 500  # rows per job: a broken payload can regress thousands of tests


@dataclass(frozen=True, slots=True)
class RunRow:
    run: Run
    cause: Classification | None
    excused_by: str | None
    log_url: str
    decisive_url: str | None  # the log page at the decisive line

    @property
    def status(self) -> RunStatus:
        return self.run.spec.status


@dataclass(frozen=True, slots=True)
class RegressionRow:
    regression: Regression
    test_url: str
    history: tuple[TestOutcome, ...] | None  # oldest first; None: not read (beyond the cap)

    @property
    def history_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.history or ():
            word = outcome.status.name.lower()
            counts[word] = counts.get(word, 0) + 1
        return counts


@dataclass(frozen=True, slots=True)
class JobSection:
    verdict: JobVerdict
    runs: tuple[RunRow, ...]
    more_runs: bool  # beyond RUNS_SHOWN
    regressions: tuple[RegressionRow, ...]


@dataclass(frozen=True, slots=True)
class PayloadPage:
    verdict: PayloadVerdict
    jobs: tuple[JobSection, ...]
    regressions: int
    judged_at: datetime


def _run_rows(store: Store, payload: str, job: JobVerdict) -> tuple[tuple[RunRow, ...], bool]:
    page = store.list_runs(job.job, where=RunFilter(payload=payload), limit=RUNS_SHOWN)
    causes = {c.classification.run_id: c for c in (job.failures.causes if job.failures else ())}
    rows = []
    for run in page.items:
        found = causes.get(run.spec.run_id)
        cause = found.classification if found else None
        decisive = cause.decisive if cause else None
        rows.append(RunRow(
            run=run, cause=cause, excused_by=found.excused_by if found else None,
            log_url=pages_urls.log_page(job.job, run.spec.run_id),
            decisive_url=pages_urls.log_page(job.job, run.spec.run_id, decisive.line.line_number,
                                             step=decisive.step) if decisive else None))
    return tuple(rows), page.next_cursor is not None


def _regression_rows(store: Store, job: JobVerdict) -> tuple[RegressionRow, ...]:
    rows = []
    for index, found in enumerate(job.regressions[:REGRESSIONS_SHOWN]):
        history = None
        if index < STRIPS_SHOWN:
            outcomes = store.page_reads.test_history(
                job.job, pages_urls.key_for_test(found.suite, found.test), limit=STRIP_RUNS)
            history = tuple(reversed(outcomes.items))
        rows.append(RegressionRow(
            regression=found, history=history,
            test_url=pages_urls.page_for_test(job.job, found.suite, found.test)))
    return tuple(rows)


def gather(store: Store, payload_id: str, verdict: PayloadVerdict) -> PayloadPage:
    sections = []
    for job in verdict.jobs:
        rows, more = _run_rows(store, payload_id, job)
        sections.append(JobSection(verdict=job, runs=rows, more_runs=more,
                                   regressions=_regression_rows(store, job)))
    return PayloadPage(verdict=verdict, jobs=tuple(sections),
                       regressions=sum(len(job.regressions) for job in verdict.jobs),
                       judged_at=datetime.now(UTC))


def judge(store: Store, payload_id: str, *, generic_share: float,
          cache: verdicts.VerdictCache | None) -> PayloadVerdict:
    """The verdict the API would answer (the same cache, so the page costs no second judging)."""
    prepared = verdicts.prepare(store, payload_id, generic_share=generic_share)
    return verdicts.judge(store, prepared, cache=cache)
