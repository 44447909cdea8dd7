"""The simulated jobs, regressions, oracle and exact expectations the decision-quality
benchmarks build on (:mod:`api.stats.simulate`)."""

from __future__ import annotations

import numpy as np
import pytest

from api.domain import TestStatus
from api.stats import policies
from api.stats import simulate as sim
from api.stats.baseline import compute_baseline


def small_job(seed: int = 1, n: int = 400):
    rng = np.random.default_rng(seed)
    job = sim.draw_job(rng, n)
    history = sim.draw_history(rng, job.fail_rates, 200)
    return rng, job, history, compute_baseline(history.tallies(job))


def test_job_mix_and_history_shapes() -> None:
    _, job, history, _ = small_job(n=5000)
    shares = np.bincount(job.classes, minlength=len(job.mix)) / job.classes.size
    assert shares == pytest.approx([c.share for c in job.mix], abs=0.02)
    for i, c in enumerate(job.mix):
        rates = job.fail_rates[job.classes == i]
        assert rates.min() >= c.low and rates.max() <= c.high
    runs = history.passes + history.failures + history.flakes + history.skips
    assert np.all(runs == 200)


def test_payload_runs_tally_like_counts() -> None:
    rng = np.random.default_rng(3)
    rates = np.array([0.0, 1.0, 0.5, 0.5])
    skip = np.array([0.0, 0.0, 0.0, 1.0])
    statuses = sim.draw_payload_runs(rng, rates, 20, flake_share=0.5, skip_rates=skip)
    assert statuses.shape == (20, 4)
    counts = sim.tally_statuses(statuses)
    assert counts.failures[0] == 0 and counts.passes[0] + counts.flakes[0] == 20
    assert counts.failures[1] == 20
    assert counts.skips[3] == 20
    assert set(np.unique(statuses)) <= {int(s) for s in TestStatus}
    inj = sim.Injection(0, 1.0)
    assert sim.tally_statuses(sim.draw_payload_runs(rng, rates, 5, injection=inj)).failures[0] == 5
    assert sim.draw_payload_counts(rng, rates, 5, injection=inj).failures[0] == 5


def test_eligible_by_baseline_and_by_truth() -> None:
    _, job, history, _ = small_job()
    stable = sim.KINDS["stable->70%"]
    by_baseline = sim.eligible(stable, job, history)
    assert np.all(history.failures[by_baseline] == 0)
    assert np.all(job.fail_rates[sim.eligible(stable, job, by="true")] <= 0.002 + 1e-12)
    flaky = sim.eligible(sim.KINDS["flaky->50%"], job, history)
    assert np.all((history.failures[flaky] >= 2) & (history.failures[flaky] <= 10))
    with pytest.raises(ValueError):
        sim.eligible(stable, job)


def test_oracle_catches_a_permanent_failure_and_spares_good_payloads() -> None:
    rng, job, history, _ = small_job()
    test = int(sim.eligible(sim.KINDS["stable->50%"], job, history)[0])
    counts = sim.draw_payload_counts(rng, job.fail_rates, 10, injection=sim.Injection(test, 1.0))
    assert sim.oracle(job.fail_rates, counts)[test]


def test_blocking_matrix_agrees_with_the_policy() -> None:
    rng, job, history, base = small_job()
    block = sim.blocking_matrix("bayes", job, base, 10)
    assert not block[:, 0].any() and block[:, 10].mean() > 0.9
    assert np.all(np.diff(block.astype(int), axis=1) >= 0)  # monotone in failures
    counts = sim.draw_payload_counts(rng, job.fail_rates, 10)
    result = policies.evaluate("bayes", counts.tallies(job), base.tests, base.prior)
    expected = {job.names[i] for i in range(len(job.names)) if block[i, counts.failures[i]]}
    assert {r.test for r in result.regressions} == expected
    rates = sim.exact_rates(block, job, history, 10)
    assert 0 <= rates["good"] < 0.05 and rates["permanent [baseline]"] == 1.0
