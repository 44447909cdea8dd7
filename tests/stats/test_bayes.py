"""The bayes policy: predictive, budget allocation, notes and the permanent-failure rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from api.stats import bayes, budget
from api.stats.baseline import compute_baseline
from api.stats.evidence import prepare_evidence
from api.stats.types import NoteKind, Prior, TestBaseline, Verdict
from tests.stats.helpers import SUITE, baseline, baselines, flagged, tally

STABLE_PRIOR = Prior(0.3, 600.0)
# A job like api/stats/simulate.py's: 91% near-perfect, 7% flaky, 2% very flaky tests.
MIXED_PRIOR = Prior.mixture([(0.91, 0.33, 651.0), (0.07, 6.7, 216.0), (0.02, 6.2, 13.4)])


def judge(*tallies, history=None, prior=STABLE_PRIOR, **knobs):
    return bayes.evaluate(list(tallies), history, prior, **knobs)


def stable_job(n: int = 200, runs: int = 200):
    history = baselines(*(baseline(f"t{i}", runs=runs, failures=0) for i in range(n)))
    return history, [f"t{i}" for i in range(n)]


# -- distributions -------------------------------------------------------------------------------


def test_beta_binomial_pmf_matches_scipy() -> None:
    k = np.array([0, 1, 5, 10, 30])
    a = np.array([0.3, 1.0, 2.5, 0.05, 7.0])
    b = np.array([600.0, 1.0, 40.0, 4.0, 13.0])
    pmf = budget.beta_binomial_pmf(k, a, b)
    for i in range(k.size):
        x = np.arange(k[i] + 1)
        assert pmf[i, : k[i] + 1] == pytest.approx(stats.betabinom.pmf(x, k[i], a[i], b[i]))
        assert np.all(pmf[i, k[i] + 1 :] == 0)


def test_binomial_pmf_and_tails_match_scipy() -> None:
    k = np.array([3, 10])
    q = np.array([0.0, 0.37])
    tails = budget.upper_tails(budget.binomial_pmf(k, q))
    assert tails[0, :5] == pytest.approx([1, 0, 0, 0, 0])
    assert tails[1, :12] == pytest.approx(stats.binom.sf(np.arange(-1, 11), 10, 0.37))


def test_mixture_predictive_is_the_reweighted_mixture() -> None:
    k = np.array([10])
    f_h, p_h = np.array([2.0]), np.array([198.0])
    pmf, mean = budget.predictive_pmf(MIXED_PRIOR, k, f_h, p_h)
    assert pmf.sum() == pytest.approx(1.0)
    from scipy.special import betaln

    weights = np.array(
        [w * np.exp(betaln(a + 2, b + 198) - betaln(a, b)) for w, a, b in MIXED_PRIOR.parts]
    )
    weights /= weights.sum()
    manual = sum(
        w * stats.betabinom.pmf(np.arange(11), 10, a + 2, b + 198)
        for w, (_, a, b) in zip(weights, MIXED_PRIOR.parts, strict=True)
    )
    assert pmf[0] == pytest.approx(manual)
    assert mean[0] == pytest.approx((np.arange(11) * manual).sum() / 10)


# -- decisions -----------------------------------------------------------------------------------


def test_stable_test_passing_is_fine_and_breaking_is_caught() -> None:
    history, names = stable_job()
    good = judge(*(tally(n, passes=10) for n in names), history=history)
    assert good.verdict is Verdict.PASS and good.tests_checked == len(names)
    assert good.budget == bayes.DEFAULT_BUDGET
    broken = judge(
        tally("t0", passes=5, failures=5),
        *(tally(n, passes=10) for n in names[1:]),
        history=history,
    )
    (reg,) = broken.regressions
    assert (reg.test, reg.suite, reg.passes, reg.failures) == ("t0", SUITE, 5, 5)
    assert reg.baseline_pass_rate == 1.0
    a, b = STABLE_PRIOR.alpha, STABLE_PRIOR.beta + 200
    assert reg.p_value == pytest.approx(stats.betabinom.sf(4, 10, a, b), rel=1e-6)
    # allowed_failures is the largest count whose tail stays above the allotted level
    tail = stats.betabinom.sf(np.arange(-1, 10), 10, a, b)
    level = tail[reg.allowed_failures + 1]
    assert tail[reg.allowed_failures] > level and reg.p_value <= level
    assert "failed 5 of 10 runs" in reg.reason and "baseline pass rate 100.0%" in reg.reason


def test_one_failure_of_a_stable_test_is_tolerated() -> None:
    history, names = stable_job(1000)
    evidence = [tally("t0", passes=9, failures=1)] + [tally(n, passes=10) for n in names[1:]]
    assert judge(*evidence, history=history).verdict is Verdict.PASS


def test_a_job_of_few_tests_can_afford_stricter_cuts() -> None:
    history, _ = stable_job(1)
    # the whole budget goes to the single test: even one failure is significant enough
    assert judge(tally("t0", passes=9, failures=1), history=history).verdict is Verdict.FAIL


def test_flaky_test_gets_more_slack_than_a_stable_one() -> None:
    history, names = stable_job(1000)
    flaky = [f"f{i}" for i in range(200)]
    history.update(baselines(*(baseline(n, runs=200, failures=10) for n in flaky)))
    evidence = [tally("t0", passes=7, failures=3), tally("f0", passes=7, failures=3)]
    evidence += [tally(n, passes=10) for n in names[1:] + flaky[1:]]
    result = bayes.evaluate(evidence, history, MIXED_PRIOR)
    assert flagged(result) == {"t0"}
    cuts, _, _ = bayes.thresholds(prepare_evidence(evidence, history), MIXED_PRIOR)
    assert cuts[0] < cuts[1]


def test_budget_left_over_by_stable_tests_goes_to_the_few_flaky_ones() -> None:
    history, names = stable_job(1000)
    history.update(baselines(baseline("flaky", runs=200, failures=10)))
    evidence = [tally("flaky", passes=7, failures=3)] + [tally(n, passes=10) for n in names]
    assert flagged(bayes.evaluate(evidence, history, MIXED_PRIOR)) == {"flaky"}


def test_new_test_is_judged_on_the_prior_and_noted() -> None:
    result = judge(tally("new", passes=10))
    assert result.verdict is Verdict.PASS and result.tests_checked == 1
    (note,) = result.notes
    assert note.kind is NoteKind.NEW_TEST and "prior" in note.detail
    failing = judge(tally("new", passes=4, failures=6))
    (reg,) = failing.regressions
    assert reg.baseline_pass_rate is None and "new test" in reg.reason


def test_test_that_never_ran_is_noted_and_never_blocks() -> None:
    history = baselines(baseline("t", runs=200, failures=0))
    result = judge(tally("t", skips=10), history=history)
    assert result.verdict is Verdict.PASS and result.tests_checked == 0
    assert result.notes[0].kind is NoteKind.DID_NOT_RUN
    assert "10 skipped" in result.notes[0].detail


def test_tiny_history_is_noted_and_leans_on_the_prior() -> None:
    history = baselines(baseline("t", runs=3, failures=0))
    result = judge(tally("t", passes=10), history=history)
    assert [n.kind for n in result.notes] == [NoteKind.TINY_HISTORY]
    assert judge(tally("t", passes=10), history=history, tiny_history=3).notes == ()


@pytest.mark.parametrize("prior", [STABLE_PRIOR, MIXED_PRIOR, Prior(0.05, 5.0)])
@pytest.mark.parametrize("k", [3, 4, 10])
def test_permanent_failure_of_a_stable_test_is_caught(prior: Prior, k: int) -> None:
    history, names = stable_job(500)
    evidence = [tally("t0", failures=k)] + [tally(n, passes=k) for n in names[1:]]
    result = bayes.evaluate(evidence, history, prior)
    assert flagged(result) == {"t0"}
    assert "failed all" in result.regressions[0].reason


@pytest.mark.parametrize("prior", [STABLE_PRIOR, MIXED_PRIOR])
def test_permanent_failure_of_a_brand_new_test_is_caught(prior: Prior) -> None:
    history, names = stable_job(500)
    evidence = [tally("brand-new", failures=3)] + [tally(n, passes=3) for n in names]
    assert flagged(bayes.evaluate(evidence, history, prior)) == {"brand-new"}


def test_prior_fitted_from_a_stable_population_catches_a_new_permanent_failure() -> None:
    rng = np.random.default_rng(5)
    window = [
        tally(f"t{i}", passes=200 - f, failures=f)
        for i, f in enumerate(rng.binomial(200, rng.uniform(0, 0.002, 1000)))
    ]
    tests, prior = compute_baseline(window)
    evidence = [tally("new", failures=3)] + [tally(f"t{i}", passes=3) for i in range(1000)]
    assert flagged(bayes.evaluate(evidence, tests, prior)) == {"new"}


def test_failing_every_run_is_not_proof_for_a_very_flaky_test() -> None:
    history = baselines(baseline("coin", runs=200, failures=100))
    result = judge(tally("coin", failures=3), history=history, prior=MIXED_PRIOR)
    assert result.verdict is Verdict.PASS
    assert any(n.kind is NoteKind.UNBLOCKABLE for n in result.notes)


def test_latched_baseline_is_judged_at_the_latched_rate() -> None:
    latched = TestBaseline(SUITE, "t", 200, 160, 40, 0, pass_rate=1.0, stddev=0.0, latched=True)
    plain = baseline("t", runs=200, failures=40)
    history, names = stable_job(1000)
    evidence = [tally("t", passes=7, failures=3)] + [tally(n, passes=10) for n in names]
    assert judge(*evidence, history={**history, **baselines(latched)}).verdict is Verdict.FAIL
    assert judge(*evidence, history={**history, **baselines(plain)}).verdict is Verdict.PASS


def test_informing_tests_never_block_but_are_noted() -> None:
    history, names = stable_job(50)
    evidence = [tally("t0", failures=10)] + [tally(n, passes=10) for n in names[1:]]
    result = judge(*evidence, history=history, informing={(SUITE, "t0")})
    assert result.verdict is Verdict.PASS and result.tests_checked == 49
    (note,) = [n for n in result.notes if n.kind is NoteKind.INFORMING]
    assert note.test == "t0"


def test_knob_validation() -> None:
    with pytest.raises(ValueError):
        judge(tally("t", passes=1), budget=0.0)
    with pytest.raises(ValueError):
        judge(tally("t", passes=1), safety=1.0)


# -- the budget ----------------------------------------------------------------------------------


def realistic_job(seed: int = 1, n: int = 2000, k: int = 10):
    rng = np.random.default_rng(seed)
    q = np.where(rng.random(n) < 0.9, rng.uniform(0, 0.002, n), rng.uniform(0.01, 0.5, n))
    failures = rng.binomial(200, q)
    tests, prior = compute_baseline(
        [tally(f"t{i}", passes=200 - f, failures=f) for i, f in enumerate(failures)]
    )
    evidence = [tally(f"t{i}", passes=k) for i in range(n)]
    return prepare_evidence(evidence, tests), prior


@pytest.mark.parametrize("total", [0.001, 0.01, 0.05])
def test_allocation_spends_at_most_the_budget(total: float) -> None:
    ev, prior = realistic_job()
    cuts, _, level = bayes.thresholds(ev, prior, budget=total)
    can_block = cuts <= ev.runs
    assert level[can_block].sum() <= total * (1 - bayes.DEFAULT_SAFETY) * (1 + 1e-9)
    assert level[can_block].sum() >= 0.5 * total * (1 - bayes.DEFAULT_SAFETY)


def test_identical_histories_get_identical_cuts() -> None:
    ev, prior = realistic_job()
    cuts, _, _ = bayes.thresholds(ev, prior)
    seen: dict[tuple[float, float], int] = {}
    for i in range(len(ev)):
        key = (float(ev.hist_failures[i]), float(ev.hist_passes[i]))
        assert seen.setdefault(key, int(cuts[i])) == cuts[i]


def test_spending_where_power_is_beats_sidak() -> None:
    ev, prior = realistic_job()
    k = ev.runs
    pmf, mean = budget.predictive_pmf(prior, k, ev.hist_failures, ev.hist_passes)
    tails = budget.upper_tails(pmf)
    power = budget.alternative_tails(k, mean, bayes.DEFAULT_ALTERNATIVES)
    spend = 0.01
    ours = budget.allocate(tails, power, k, spend)
    level = budget.sidak_level(spend, len(ev))
    sidak = np.argmax(tails <= level, axis=1)  # first cut whose tail fits the per-test level
    rows = np.arange(len(ev))
    assert tails[rows, sidak].sum() <= spend and tails[rows, ours].sum() <= spend
    assert power[rows, ours].sum() > power[rows, sidak].sum()


def test_allocate_small_cases() -> None:
    # one test, k = 2: sizes P(X >= c) and powers for c = 0..3
    tails = np.array([[1.0, 0.1, 0.01, 0.0]])
    power = np.array([[3.0, 2.0, 1.5, 0.0]])
    k = np.array([2])
    assert budget.allocate(tails, power, k, 0.001).tolist() == [3]  # nothing fits
    assert budget.allocate(tails, power, k, 0.01).tolist() == [2]
    assert budget.allocate(tails, power, k, 0.5).tolist() == [1]
    assert budget.allocate(tails, power, k, 1.0).tolist() == [1]  # c = 0 is never allowed
    forced = np.array([True])
    assert budget.allocate(tails, power, k, 0.0, forced=forced).tolist() == [2]
    # weights multiply the cost: 10 identical tests at 0.01 do not fit in 0.05
    assert budget.allocate(tails, power, k, 0.05, weights=np.array([10.0])).tolist() == [3]


def test_allocate_takes_the_best_power_per_risk_first() -> None:
    tails = np.array([[1.0, 0.02, 0.001, 0.0], [1.0, 0.02, 0.001, 0.0]])
    power = np.array([[2.0, 1.9, 1.0, 0.0], [2.0, 1.1, 1.0, 0.0]])
    k = np.array([2, 2])
    # both take c = 2 (cheap); one more step (0.019) fits: the row gaining 0.9, not 0.1
    assert budget.allocate(tails, power, k, 0.025).tolist() == [1, 2]


def test_allocate_single_row_picks_the_best_hull_cut_within_budget() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(1, 8))
        tails = budget.upper_tails(rng.dirichlet(np.ones(k + 1) * 0.5)[None, :])
        power = budget.upper_tails(rng.dirichlet(np.ones(k + 1) * 0.5)[None, :])
        spend = float(rng.uniform(0, 0.5))
        (c,) = budget.allocate(tails, power, np.array([k]), spend)
        # the hull vertices are the cuts some Lagrangian power - lam * size picks (lam > 0)
        cands = np.arange(1, k + 2)
        vertices = set()
        for lam in np.logspace(-6, 12, 2000):
            score = power[0, cands] - lam * tails[0, cands]
            vertices.add(int(cands[::-1][np.argmax(score[::-1])]))
        affordable = [v for v in vertices if tails[0, v] <= spend]
        assert c == max(affordable, key=lambda v: (power[0, v], -v))
