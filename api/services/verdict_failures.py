"""The payload verdict's failure causes: per job the classified failed runs, and the excused.

Called from :mod:`api.services.verdicts` at two points:

* :func:`gather` while preparing (so that :func:`stamp` joins the ETag: a new match, pattern
  edit, breakage or ``excuse`` setting that changes a cause changes the verdict's ETag);
* :func:`without_runs` while judging a job: the tests of its excused runs are taken out of the
  payload's evidence, so an excused failed run is an infrastructure outcome, as an ``error``
  run is, and counts neither for nor against any test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from api.domain import Job, TestResult, TestStatus
from api.services.failures import (
    DEFAULT_GENERIC_SHARE,
    JobFailures,
    PayloadFailures,
    payload_failures,
)
from api.store import EvidenceColumns, Store

# The EvidenceColumns.counts column each stored status is tallied in (see the store contract:
# passes, failures, flakes, skips; an error counts as a failure).
_COLUMN = {TestStatus.PASSED: 0, TestStatus.FAILED: 1, TestStatus.ERROR: 1,
           TestStatus.FLAKED: 2, TestStatus.SKIPPED: 3}


def gather(store: Store, payload_id: str, jobs: Mapping[str, Job], *,
           generic_share: float = DEFAULT_GENERIC_SHARE) -> PayloadFailures:
    """The payload's classified failed runs (``jobs``: the involved jobs, for ``excuse``)."""
    return payload_failures(store, payload_id, jobs, generic_share=generic_share)


def stamp(failures: PayloadFailures) -> tuple[object, ...]:
    """What of the causes the verdict shows: it joins the verdict's ETag."""
    return tuple((c.classification.job, c.classification.run_id,
                  c.classification.failure_class.value, c.classification.reason,
                  c.classification.breakage_id, c.excused_by)
                 for job in failures.jobs for c in job.causes)


def excused_run_ids(failures: JobFailures | None) -> tuple[str, ...]:
    return () if failures is None else tuple(c.classification.run_id for c in failures.excused)


def excused_reason(failures: JobFailures | None) -> str:
    """``"; 2 failed run(s) excused as infrastructure: r1 (infra), r2 (network)"`` or ``""``."""
    excused = () if failures is None else failures.excused
    if not excused:
        return ""
    runs = ", ".join(f"{c.classification.run_id} ({c.excused_by})" for c in excused)
    return (f"; {len(excused)} failed run(s) excused as infrastructure by the job's excuse "
            f"setting: {runs}")


def without_runs(columns: EvidenceColumns,
                 runs_tests: Sequence[Sequence[TestResult]]) -> EvidenceColumns:
    """``columns`` without the tallies of the given runs' tests (each run: its stored tests).

    A test left with no result at all leaves the columns (and, if the baseline has a record
    of it, counts as ``absent``, as a test the payload did not run).
    """
    if not runs_tests:
        return columns
    row = {key: i for i, key in enumerate(zip(columns.suites, columns.names, strict=True))}
    counts = columns.counts.copy()
    for tests in runs_tests:
        for test in tests:
            i = row.get((test.suite, test.name))
            if i is not None:
                column = _COLUMN[TestStatus(test.status)]
                counts[i, column] = max(0, counts[i, column] - 1)
    keep = counts.sum(axis=1) > 0
    if keep.all():
        return EvidenceColumns(columns.suites, columns.names, counts, columns.history,
                               columns.absent, columns.informing)
    dropped_with_record = int((columns.history[~keep, 0] > 0).sum())
    index = np.flatnonzero(keep)
    return EvidenceColumns(
        suites=tuple(columns.suites[i] for i in index),
        names=tuple(columns.names[i] for i in index),
        counts=counts[keep], history=columns.history[keep],
        absent=columns.absent + dropped_with_record,
        informing=None if columns.informing is None else columns.informing[keep])


def excused_evidence(store: Store, job: str, columns: EvidenceColumns,
                     failures: JobFailures | None) -> EvidenceColumns:
    """The job's evidence without its excused runs (one read of tests per excused run)."""
    excused = excused_run_ids(failures)
    return without_runs(columns, [store.get_run_tests(job, run_id) for run_id in excused])
