"""The stddev policy: the literal mean + z standard deviations rule."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from api.stats import stddev
from api.stats.types import NoteKind, Prior, Verdict
from tests.stats.helpers import SUITE, baseline, baselines, tally


def judge(*tallies, history=None, prior=None, **knobs):
    return stddev.evaluate(list(tallies), history, prior, **knobs)


def test_allowed_failures_formula() -> None:
    k, p = 10, 0.9
    expected = k * (1 - p) + math.sqrt(k * p * (1 - p))
    assert stddev.allowed_failures(k, p) == pytest.approx(expected)
    assert stddev.allowed_failures(k, p, z=2.0) == pytest.approx(
        k * (1 - p) + 2 * math.sqrt(k * p * (1 - p))
    )


def test_fail_when_failures_exceed_the_bound() -> None:
    history = baselines(baseline("t", runs=100, failures=10))  # p = 0.9: bound 1 + 0.949
    assert judge(tally("t", passes=9, failures=1), history=history).verdict is Verdict.PASS
    result = judge(tally("t", passes=8, failures=2), history=history)
    (reg,) = result.regressions
    assert reg.allowed_failures == 1
    assert reg.p_value == pytest.approx(stats.binom.sf(1, 10, 0.1))
    assert "= 1.95 failures" in reg.reason
    assert reg.baseline_pass_rate == pytest.approx(0.9)


def test_binary_rounding_does_not_flip_the_bound() -> None:
    # p = 0.9, z = 0: bound 10 * 0.1 = 0.9999999999999998; one failure is within it
    history = baselines(baseline("t", runs=10, failures=1))
    result = judge(tally("t", passes=9, failures=1), history=history, z=0.0)
    assert result.verdict is Verdict.PASS


def test_z_knob_widens_the_band() -> None:
    history = baselines(baseline("t", runs=100, failures=10))
    evidence = tally("t", passes=7, failures=3)  # bounds: z=1 1.95, z=2 2.90, z=3 3.85
    assert judge(evidence, history=history, z=1.0).verdict is Verdict.FAIL
    assert judge(evidence, history=history, z=2.0).verdict is Verdict.FAIL
    assert judge(evidence, history=history, z=3.0).verdict is Verdict.PASS
    assert judge(evidence, history=history, z=3.0).tests_checked == 1


def test_a_perfect_history_allows_no_failure() -> None:
    history = baselines(baseline("t", runs=200, failures=0))
    result = judge(tally("t", passes=9, failures=1), history=history)
    assert result.verdict is Verdict.FAIL and result.regressions[0].allowed_failures == 0


def test_new_test_uses_the_prior_mean_or_is_not_judged() -> None:
    prior = Prior(1.0, 99.0)  # mean pass rate 99%: bound 0.1 + 0.31 with 10 runs
    with_prior = judge(tally("new", passes=9, failures=1), prior=prior)
    assert with_prior.verdict is Verdict.FAIL
    assert with_prior.regressions[0].baseline_pass_rate is None
    assert any(n.kind is NoteKind.NEW_TEST for n in with_prior.notes)
    without = judge(tally("new", passes=0, failures=10))
    assert without.verdict is Verdict.PASS and without.tests_checked == 0
    assert "not judged" in without.notes[0].detail


def test_did_not_run_informing_and_tiny_history_notes() -> None:
    history = baselines(baseline("tiny", runs=3, failures=0), baseline("inf", runs=200, failures=0))
    result = judge(
        tally("skipped", skips=10),
        tally("tiny", passes=10),
        tally("inf", failures=10),
        history=history,
        informing={(SUITE, "inf")},
    )
    assert result.verdict is Verdict.PASS
    kinds = {n.test: n.kind for n in result.notes}
    assert kinds == {
        "skipped": NoteKind.DID_NOT_RUN,
        "tiny": NoteKind.TINY_HISTORY,
        "inf": NoteKind.INFORMING,
    }
    assert result.tests_checked == 1
