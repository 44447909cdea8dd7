"""The fail-safe floor: with no history, a test failing every one of >= 3 runs blocks under
every policy and every knob; fewer runs, a pass, a flake or history leave it to the policy."""

from __future__ import annotations

import pytest

from api.stats import POLICIES, TestBaseline, TestTally, Verdict, evaluate
from api.stats.floor import FLOOR_RUNS
from api.stats.stddev import evaluate as stddev_evaluate
from api.stats.types import NoteKind

LOOSEST = {"bayes": {"budget": 0.5}, "stddev": {"z": 10.0}, "aggregator": {"min_attempts": 1}}


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_all_failing_new_test_blocks_without_baseline(policy: str) -> None:
    evidence = [TestTally("s", "broken", failures=FLOOR_RUNS),
                TestTally("s", "fine", passes=FLOOR_RUNS)]
    result = evaluate(policy, evidence, None, None, **LOOSEST[policy])
    assert result.verdict is Verdict.FAIL
    assert [r.test for r in result.regressions] == ["broken"]


def test_stddev_alone_would_not_judge_it() -> None:
    # Why the floor exists: without a prior stddev passes a test that fails every run.
    alone = stddev_evaluate([TestTally("s", "broken", failures=5)], None, None)
    assert alone.verdict is Verdict.PASS
    floored = evaluate("stddev", [TestTally("s", "broken", failures=5)], None, None)
    assert floored.verdict is Verdict.FAIL
    assert "fail-safe floor" in floored.regressions[0].reason


@pytest.mark.parametrize("tally", [
    TestTally("s", "t", failures=FLOOR_RUNS - 1),
    TestTally("s", "t", failures=FLOOR_RUNS, flakes=1),
    TestTally("s", "t", failures=FLOOR_RUNS, passes=1),
    TestTally("s", "t", failures=FLOOR_RUNS, skips=FLOOR_RUNS + 1),
])
def test_floor_needs_every_run_to_fail(tally: TestTally) -> None:
    result = evaluate("stddev", [tally], None, None)
    assert result.verdict is Verdict.PASS


def test_floor_ignores_tests_with_history() -> None:
    history = [TestBaseline("s", "t", runs=50, passes=0, failures=50, flakes=0, pass_rate=0.0,
                            stddev=0.0)]
    result = evaluate("stddev", [TestTally("s", "t", failures=4)], history, None)
    assert result.verdict is Verdict.PASS  # always failed before: not a regression


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_informing_tests_get_a_note_not_a_block(policy: str) -> None:
    result = evaluate(policy, [TestTally("s", "broken", failures=4)], None, None,
                      informing=[("s", "broken")])
    assert result.verdict is Verdict.PASS
    assert result.note_counts.get(NoteKind.INFORMING.value) == 1


def test_a_test_already_blocked_is_not_reported_twice() -> None:
    result = evaluate("aggregator", [TestTally("s", "broken", failures=6)], None, None)
    assert len(result.regressions) == 1
