"""What the test page (``/ui/jobs/{job}/tests/{key}``) shows, gathered in one place, Flask-free.

From one history read (the newest ``runs`` outcomes, :func:`api.services.test_reads.
test_history`): the pass rate per UTC day (the chart, and the table that carries the same
numbers), the outcomes per payload, and the failure messages grouped by similarity with the
clustering of the unexplained failures (:func:`api.failures.clusters.cluster`: numbers, ids,
paths and times collapse, near-equal forms merge), so "timeout after 30s waiting for pod-17"
and "... pod-912" are one group. The baseline record says how the gate judges the test.

Counting follows the verdict's evidence rule: only ``success`` and ``failure`` runs count,
a flake counts as a pass, an error as a failure, a skip not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from api.domain import EVIDENCE_STATUSES, TestStatus
from api.failures.clusters import Cluster, Unexplained, cluster
from api.services.test_reads import TestStability, find_test
from api.store import Store
from api.store.page_reads import TestOutcome, TestRef

DEFAULT_RUNS = 1000
MESSAGE_GROUPS = 10


@dataclass(frozen=True, slots=True)
class Tally:
    """Counted outcomes of the test over some runs (a day, a payload)."""

    label: str
    passes: int = 0
    failures: int = 0
    flakes: int = 0  # among the passes
    skips: int = 0

    @property
    def counted(self) -> int:
        return self.passes + self.failures

    @property
    def pass_rate(self) -> float | None:
        return self.passes / self.counted if self.counted else None


# Per status: (passes, failures, flakes, skips) it adds to a tally.
_COUNTS = {status: (int(status.counts_as_pass), int(status.counts_as_failure),
                    int(status is TestStatus.FLAKED), int(status is TestStatus.SKIPPED))
           for status in TestStatus}


def _tally(label: str, counts: list[int]) -> Tally:
    return Tally(label, *counts)


@dataclass(frozen=True, slots=True)
class TestPage:
    __test__ = False  # not a pytest test class

    job: str
    test: TestRef
    outcomes: tuple[TestOutcome, ...]  # newest first
    more: bool  # older runs exist beyond ``outcomes``
    overall: Tally
    by_day: tuple[Tally, ...]  # oldest first (the chart's x axis); label: ISO date
    by_payload: tuple[Tally, ...]  # newest payload first; label: the payload id
    messages: tuple[Cluster, ...]  # failure messages grouped, biggest group first
    baseline: TestStability | None  # the current baseline's record of the test


def _counted(outcome: TestOutcome) -> bool:
    return outcome.run_status in EVIDENCE_STATUSES


def _first_line(message: str) -> str:
    return next((line.strip() for line in message.splitlines() if line.strip()), "")[:1000]


def tallies(outcomes: Sequence[TestOutcome]) -> tuple[Tally, tuple[Tally, ...],
                                                      tuple[Tally, ...]]:
    """Overall, per UTC day (oldest first) and per payload (newest first) tallies."""
    overall = [0, 0, 0, 0]
    days: dict[date, list[int]] = {}
    payloads: dict[str, list[int]] = {}
    for outcome in outcomes:  # newest first
        if not _counted(outcome):
            continue
        adds = _COUNTS[outcome.status]
        targets = [overall, days.setdefault(outcome.created_at.date(), [0, 0, 0, 0])]
        if outcome.payload is not None:
            targets.append(payloads.setdefault(outcome.payload, [0, 0, 0, 0]))
        for counts in targets:
            for i, add in enumerate(adds):
                counts[i] += add
    return (_tally("all", overall),
            tuple(_tally(day.isoformat(), days[day]) for day in sorted(days)),
            tuple(_tally(payload, counts) for payload, counts in payloads.items()))


def message_groups(job: str, test: TestRef, outcomes: Sequence[TestOutcome],
                   limit: int = MESSAGE_GROUPS) -> tuple[Cluster, ...]:
    """The failure messages' first lines, clustered; each example names its run."""
    failed = [Unexplained(job=job, run_id=o.run_id, step=test.name, line_number=1,
                          text=_first_line(o.message))
              for o in outcomes if o.message and o.status.counts_as_failure]
    return tuple(cluster(failed)[:limit])


def test_page(store: Store, job: str, key: str, *, runs: int = DEFAULT_RUNS) -> TestPage:
    """Everything the test page shows; an unknown job or key raises ``NotFound``."""
    test = find_test(store, job, key)
    page = store.page_reads.test_history(job, key, limit=runs)
    outcomes = tuple(page.items)
    overall, by_day, by_payload = tallies(outcomes)
    baseline = store.get_baseline(job)
    found = (store.page_reads.baseline_record(job, baseline.version, test.suite, test.name)
             if baseline is not None else None)
    record = None if found is None else TestStability.of(found)
    return TestPage(job=job, test=test, outcomes=outcomes, more=page.next_cursor is not None,
                    overall=overall, by_day=by_day, by_payload=by_payload,
                    messages=message_groups(job, test, outcomes), baseline=record)
