"""Baselines: counting, pass rates, stddev, latching, and the empirical-Bayes prior fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from api.domain import TestResult, TestStatus
from api.stats.baseline import DEFAULT_PRIOR, compute_baseline, fit_prior, tally_runs
from api.stats.types import Prior, TestBaseline, TestTally
from tests.stats.helpers import SUITE, tally


def result(name: str, status: TestStatus) -> TestResult:
    return TestResult(name=name, suite=SUITE, status=status)


def by_name(tests: tuple[TestBaseline, ...]) -> dict[str, TestBaseline]:
    return {t.name: t for t in tests}


# -- tallies -----------------------------------------------------------------------------------


def test_tally_runs_counts_each_status_once_per_run() -> None:
    runs = [
        [result("a", TestStatus.PASSED), result("b", TestStatus.FAILED)],
        [result("a", TestStatus.ERROR), result("b", TestStatus.SKIPPED)],
        [result("a", TestStatus.FLAKED), result("b", TestStatus.PASSED)],
        # a test listed twice in one run (retry) is merged: failed + passed = flaked
        [result("a", TestStatus.FAILED), result("a", TestStatus.PASSED)],
    ]
    tallies = {t.name: t for t in tally_runs(runs)}
    assert tallies["a"] == TestTally(SUITE, "a", passes=1, failures=1, flakes=2, skips=0)
    assert tallies["b"] == TestTally(SUITE, "b", passes=1, failures=1, flakes=0, skips=1)
    assert tallies["a"].runs == 4 and tallies["a"].effective_passes == 3
    assert tallies["b"].runs == 2  # skips are not evidence


def test_tally_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        TestTally(SUITE, "x", passes=-1)


# -- pass rates and stddev -----------------------------------------------------------------------


def test_pass_rate_counts_flakes_as_passes_and_ignores_skips() -> None:
    tests, _ = compute_baseline([tally("t", passes=6, failures=2, flakes=2, skips=40)])
    (record,) = tests
    assert (record.runs, record.passes, record.failures, record.flakes) == (10, 6, 2, 2)
    assert record.pass_rate == pytest.approx(0.8)
    # population standard deviation of the per-run failure indicator: sqrt(q (1 - q))
    assert record.stddev == pytest.approx(math.sqrt(0.2 * 0.8))
    assert record.evidence_passes == 8 and record.evidence_failures == 2
    assert not record.latched and record.observed_pass_rate is None


def test_stddev_matches_numpy_of_the_indicator() -> None:
    tests, _ = compute_baseline([tally("t", passes=17, failures=3)])
    indicator = np.array([0] * 17 + [1] * 3)
    assert tests[0].stddev == pytest.approx(float(np.std(indicator)))


def test_always_passing_and_always_failing_tests() -> None:
    tests = by_name(compute_baseline([tally("ok", passes=50), tally("bad", failures=5)]).tests)
    assert tests["ok"].pass_rate == 1.0 and tests["ok"].stddev == 0.0
    assert tests["bad"].pass_rate == 0.0 and tests["bad"].stddev == 0.0


def test_tests_without_evidence_get_no_record_and_duplicates_are_summed() -> None:
    tests = by_name(
        compute_baseline(
            [tally("skipped", skips=9), tally("dup", passes=3), tally("dup", failures=1)]
        ).tests
    )
    assert "skipped" not in tests
    assert tests["dup"].runs == 4 and tests["dup"].pass_rate == pytest.approx(0.75)


def test_records_are_sorted_by_suite_and_name() -> None:
    tests, _ = compute_baseline([tally("b", passes=1), tally("a", passes=1)])
    assert [t.name for t in tests] == ["a", "b"]


# -- latching ------------------------------------------------------------------------------------


def test_latch_keeps_the_previous_rate_when_the_window_is_worse() -> None:
    previous, _ = compute_baseline([tally("t", passes=99, failures=1)])
    tests, _ = compute_baseline([tally("t", passes=90, failures=10)], previous=previous, latch=True)
    (record,) = tests
    assert record.latched
    assert record.pass_rate == pytest.approx(0.99)
    assert record.stddev == pytest.approx(math.sqrt(0.99 * 0.01))
    assert record.observed_pass_rate == pytest.approx(0.90)
    assert (record.runs, record.failures) == (100, 10)  # the window's own counts stay visible
    assert record.evidence_failures == pytest.approx(1.0)  # policies judge the latched rate


def test_latch_lets_improvements_through() -> None:
    previous, _ = compute_baseline([tally("t", passes=90, failures=10)])
    tests, _ = compute_baseline([tally("t", passes=100)], previous=previous, latch=True)
    assert not tests[0].latched and tests[0].pass_rate == 1.0


def test_without_latch_a_worse_window_lowers_the_rate() -> None:
    previous, _ = compute_baseline([tally("t", passes=99, failures=1)])
    tests, _ = compute_baseline([tally("t", passes=90, failures=10)], previous=previous)
    assert not tests[0].latched and tests[0].pass_rate == pytest.approx(0.9)


def test_unlatch_names_the_tests_allowed_to_loosen() -> None:
    previous, _ = compute_baseline([tally("a", passes=100), tally("b", passes=100)])
    window = [tally("a", passes=80, failures=20), tally("b", passes=80, failures=20)]
    tests = by_name(
        compute_baseline(window, previous=previous, latch=True, unlatch=[(SUITE, "a")]).tests
    )
    assert tests["a"].pass_rate == pytest.approx(0.8) and not tests["a"].latched
    assert tests["b"].pass_rate == 1.0 and tests["b"].latched


def test_latch_carries_tests_the_window_did_not_see() -> None:
    previous, _ = compute_baseline([tally("gone", passes=99, failures=1), tally("t", passes=5)])
    tests = by_name(
        compute_baseline([tally("t", passes=5)], previous=list(previous), latch=True).tests
    )
    assert tests["gone"].latched and tests["gone"].pass_rate == pytest.approx(0.99)
    tests = by_name(compute_baseline([tally("t", passes=5)], previous=previous).tests)
    assert "gone" not in tests


# -- prior ---------------------------------------------------------------------------------------


def test_prior_fit_on_a_mostly_stable_population_matches_its_mean() -> None:
    rng = np.random.default_rng(7)
    n_tests, runs = 3000, 200
    stable = rng.random(n_tests) < 0.95
    q = np.where(stable, rng.uniform(0.0, 0.002, n_tests), rng.uniform(0.02, 0.2, n_tests))
    failures = rng.binomial(runs, q)
    prior = fit_prior(np.full(n_tests, runs), failures)
    population = failures.sum() / (n_tests * runs)
    assert prior.mean_failure_rate == pytest.approx(population, rel=0.15)
    # most tests are stable: the prior's typical (median) test is near-perfect
    draws = np.concatenate(
        [rng.beta(a, b, round(w * 20000)) for w, a, b in prior.parts if w * 20000 >= 0.5]
    )
    assert np.median(draws) < 0.005


def test_prior_fit_is_proper_when_no_test_ever_fails() -> None:
    prior = fit_prior(np.full(500, 200), np.zeros(500))
    assert prior.alpha > 0 and prior.beta > 0 and math.isfinite(prior.alpha + prior.beta)
    assert prior.mean_failure_rate < 1e-3


def test_prior_fit_handles_tiny_and_empty_populations() -> None:
    assert fit_prior([], []) == DEFAULT_PRIOR
    assert fit_prior([0, 0], [0, 0]) == DEFAULT_PRIOR
    small = fit_prior([2, 3], [0, 1])
    assert 0 < small.mean_failure_rate < 0.5
    with pytest.raises(ValueError):
        fit_prior([1, 2], [0])


def test_prior_fit_prefers_one_beta_for_a_homogeneous_population() -> None:
    rng = np.random.default_rng(3)
    q = rng.beta(2.0, 60.0, 4000)
    prior = fit_prior(np.full(4000, 100), rng.binomial(100, q))
    assert not prior.components
    assert prior.alpha == pytest.approx(2.0, rel=0.35)
    assert prior.beta == pytest.approx(60.0, rel=0.35)


def test_prior_fit_finds_a_mixture_for_stable_plus_flaky_tail() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    q = np.where(rng.random(n) < 0.9, rng.uniform(0, 0.002, n), rng.uniform(0.1, 0.5, n))
    prior = fit_prior(np.full(n, 200), rng.binomial(200, q))
    assert len(prior.components) >= 2
    weights = sorted(w for w, _, _ in prior.components)
    assert weights[-1] == pytest.approx(0.9, abs=0.05)


def test_compute_baseline_fits_the_prior_from_observed_counts() -> None:
    window = [tally(f"t{i}", passes=200) for i in range(50)] + [tally("f", passes=150, failures=50)]
    _, prior = compute_baseline(window)
    assert prior.mean_failure_rate == pytest.approx(50 / (51 * 200), rel=0.5)
    _, default = compute_baseline(window, fit=False)
    assert default == DEFAULT_PRIOR


def test_prior_mixture_summary_and_round_trip() -> None:
    prior = Prior.mixture([(9, 0.5, 500.0), (1, 5.0, 10.0)])
    assert sum(w for w, _, _ in prior.components) == pytest.approx(1.0)
    expected_mean = 0.9 * 0.5 / 500.5 + 0.1 * 5 / 15
    assert prior.mean_failure_rate == pytest.approx(expected_mean)
    # the summary beta has the mixture's mean
    assert prior.alpha / (prior.alpha + prior.beta) == pytest.approx(expected_mean)
    assert Prior.from_dict(prior.to_dict()) == prior
    single = Prior(1.0, 9.0)
    assert Prior.from_dict(single.to_dict()) == single
    assert Prior.mixture([(1.0, 1.0, 9.0)]) == single
    with pytest.raises(ValueError):
        Prior(0.0, 1.0)
    with pytest.raises(ValueError):
        Prior(1.0, 1.0, ((0.5, 1.0, 1.0),))
