"""What the job page (``/ui/jobs/{job}``) shows, gathered in one place, Flask-free.

Its runs over time (the newest page of runs, newest first, and the same runs counted per UTC
day and status for the chart), the least stable tests of the current baseline
(:func:`api.services.test_reads.job_tests`), the baseline versions and the audit trail that
explains them (who computed, loosened or changed a setting, when, why), and the settings in
force with their defaults filled in (:class:`~api.services.job_settings.JobSettings`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from api.domain import Job, Page, Run, RunStatus
from api.services.catalog import get_job
from api.services.job_settings import JobSettings
from api.services.test_reads import TestOrder, TestStability, job_tests
from api.store import AuditEntry, BaselineVersion, Store

RUNS_SHOWN = 100
TESTS_SHOWN = 20
VERSIONS_SHOWN = 20
AUDIT_SHOWN = 50


@dataclass(frozen=True, slots=True)
class RunDay:
    """How many of the shown runs were created on ``day`` (ISO date), by status."""

    day: str
    counts: dict[str, int]

    def of(self, status: RunStatus) -> int:
        return self.counts.get(status.value, 0)


@dataclass(frozen=True, slots=True)
class JobPage:
    job: Job
    settings: dict[str, Any]  # every setting in force, defaults included
    runs: Page  # of Run, newest first
    run_days: tuple[RunDay, ...]  # the shown runs per day, oldest first
    baseline: BaselineVersion | None
    least_stable: tuple[TestStability, ...]  # least stable first
    versions: tuple[BaselineVersion, ...]  # newest first
    audit: tuple[AuditEntry, ...]  # newest first


def run_days(runs: tuple[Run, ...]) -> tuple[RunDay, ...]:
    per_day: dict[str, Counter[str]] = {}
    for run in runs:
        day = run.created_at.date().isoformat()
        per_day.setdefault(day, Counter())[run.spec.status.value] += 1
    return tuple(RunDay(day, dict(per_day[day])) for day in sorted(per_day))


def job_page(store: Store, job: str, *, runs_cursor: str | None = None) -> JobPage:
    """Everything the job page shows; an unknown job raises ``NotFound``."""
    found = get_job(store, job)
    settings = asdict(JobSettings.of(found))
    settings = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in settings.items()}
    runs = store.list_runs(job, limit=RUNS_SHOWN, cursor=runs_cursor)
    baseline, tests = job_tests(store, job, order=TestOrder.LEAST_STABLE, limit=TESTS_SHOWN)
    return JobPage(job=found, settings=settings, runs=runs, run_days=run_days(runs.items),
                   baseline=baseline, least_stable=tests.items,
                   versions=store.list_baselines(job, limit=VERSIONS_SHOWN).items,
                   audit=store.list_audit(job, limit=AUDIT_SHOWN).items)
