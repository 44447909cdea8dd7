"""Taking excused runs' tests out of a payload's evidence columns."""

from __future__ import annotations

import numpy as np

from api.domain import TestResult, TestStatus
from api.services.verdict_failures import without_runs
from api.store import EvidenceColumns

P, F, E, S, K = (TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED,
                 TestStatus.FLAKED)


def columns() -> EvidenceColumns:
    # a: 2 passes 1 failure; b: 1 failure (only in the excused run), baseline record;
    # c: 1 flake 1 skip.
    counts = np.array([[2, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], dtype=np.int64)
    history = np.zeros((3, 6))
    history[1] = [10, 10, 0, 0, 1.0, 0]
    return EvidenceColumns(("s", "s", "s"), ("a", "b", "c"), counts, history, absent=2,
                           informing=np.array([False, True, False]))


def test_no_excused_run_changes_nothing() -> None:
    cols = columns()
    assert without_runs(cols, []) is cols


def test_an_excused_runs_results_leave_the_evidence() -> None:
    excused = [[TestResult("a", "s", F), TestResult("b", "s", E), TestResult("c", "s", S),
                TestResult("gone", "s", F)]]
    got = without_runs(columns(), excused)
    assert got.names == ("a", "c")
    assert got.counts.tolist() == [[2, 0, 0, 0], [0, 0, 1, 0]]
    # b had a baseline record and no result left: it is now absent, like a test not run.
    assert got.absent == 3
    assert got.informing is not None and got.informing.tolist() == [False, False]
    assert got.history.shape == (2, 6)


def test_counts_never_go_below_zero() -> None:
    got = without_runs(columns(), [[TestResult("c", "s", K)], [TestResult("c", "s", K)]])
    assert got.counts[2].tolist() == [0, 0, 0, 1]
