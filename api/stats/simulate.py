"""Simulated jobs for judging the verdict policies: known truth in, counts out. Pure numpy.

Shared by the decision-quality benchmarks (``bench/decision_quality.py`` drives the real store
and verdict code with it; ``bench/simulate.py`` prints the policies' table from the pure
functions) and by the statistics tests. It lives in the package rather than in ``bench/``
because both need it and tests do not import benchmarks.

The simulated job (:data:`DEFAULT_MIX`, 3,000 tests by default). Each test has a true per-run
failure probability ``f`` drawn from one of four classes:

======================  =======  ==============================  ===========================
class                   share    failure probability ``f``       pass rate
======================  =======  ==============================  ===========================
``stable``              88%      log-uniform on [1e-5, 2e-3]     >= 99.8% (median 99.986%)
``slightly_flaky``       3%      log-uniform on [2e-3, 1e-2]     99% .. 99.8%
``flaky``                7%      uniform on [0.01, 0.05]         95% .. 99%
``very_flaky``           2%      uniform on [0.10, 0.50]         50% .. 90%
======================  =======  ==============================  ===========================

Failure rates of stable tests span orders of magnitude, hence log-uniform. History: every test
ran in each of ``n_runs`` (200) history runs, failures ~ Binomial(200, f). A payload: ``k``
(10) counted runs, each test failing independently with probability ``f`` -- or, for the one
test with an injected regression, with the regressed probability. Optional knobs (off in the
benchmarks): ``flake_share`` turns that share of passing runs into flakes (retried, counted as
passes); ``skip_rates`` skips a test in a run with that probability.

Regression kinds (:data:`REGRESSIONS`; one injected test per regressed payload; detection =
that test is flagged), eligible tests chosen uniformly **by baseline pass rate** (what the gate
and its users see; :func:`eligible` also offers ``by="true"``):

* ``permanent``: a test with pass rate >= 95% now fails every run;
* ``stable->50%`` / ``stable->70%``: a test with pass rate >= 99.8% (by baseline: no failure in
  200 runs) drops to 50% / 70%;
* ``flaky->50%``: a test with pass rate 95-99% (2-10 failures in 200 runs) drops to 50%.

The oracle knows every test's true (pre-regression) failure rate: its null for each test is
``Binomial(k, f)`` -- the most powerful per-test test -- and it spends the whole false-block
budget (bayes holds back its 10% safety share) with the same allocation as the ``bayes``
policy (:func:`api.stats.budget.allocate`).

:func:`exact_rates` gives exact expectations per simulated job: the real policy is evaluated
once per failure count ``x = 0..k`` (every test failing ``x`` runs at once) to get each test's
blocking set, which binomial sums turn into the expected false-block rate and detection rates,
free of payload sampling noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from api.domain import TestStatus
from api.stats import policies
from api.stats.bayes import DEFAULT_ALTERNATIVES, DEFAULT_BUDGET
from api.stats.budget import allocate, alternative_tails, binomial_pmf, upper_tails
from api.stats.types import ComputedBaseline, TestTally

# -- the job, its history and its payloads ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class TestClass:
    """A class of tests in the simulated mix: share of the job and range of failure rates."""

    __test__ = False

    name: str
    share: float
    low: float
    high: float
    log_uniform: bool = False


DEFAULT_MIX: tuple[TestClass, ...] = (
    TestClass("stable", 0.88, 1e-5, 2e-3, log_uniform=True),
    TestClass("slightly_flaky", 0.03, 2e-3, 1e-2, log_uniform=True),
    TestClass("flaky", 0.07, 0.01, 0.05),
    TestClass("very_flaky", 0.02, 0.10, 0.50),
)


@dataclass(frozen=True, slots=True)
class SimJob:
    """A simulated job's tests and their true per-run failure probabilities."""

    suites: tuple[str, ...]
    names: tuple[str, ...]
    fail_rates: np.ndarray
    classes: np.ndarray  # index into ``mix``
    mix: tuple[TestClass, ...] = DEFAULT_MIX

    def indices(self, *class_names: str) -> np.ndarray:
        wanted = [i for i, c in enumerate(self.mix) if c.name in class_names]
        return np.nonzero(np.isin(self.classes, wanted))[0]


@dataclass(frozen=True, slots=True)
class Counts:
    """Per-test outcome counts (clean passes, failures, flakes, skips) as parallel arrays."""

    passes: np.ndarray
    failures: np.ndarray
    flakes: np.ndarray
    skips: np.ndarray

    def tallies(self, job: SimJob) -> tuple[TestTally, ...]:
        return tuple(
            TestTally(s, n, int(p), int(f), int(fl), int(sk))
            for s, n, p, f, fl, sk in zip(
                job.suites,
                job.names,
                self.passes,
                self.failures,
                self.flakes,
                self.skips,
                strict=True,
            )
        )


@dataclass(frozen=True, slots=True)
class Injection:
    """A regression injected into one test of a payload: its new per-run failure rate."""

    test: int
    failure_rate: float


def draw_fail_rates(
    rng: np.random.Generator, n_tests: int = 3000, mix: Sequence[TestClass] = DEFAULT_MIX
) -> tuple[np.ndarray, np.ndarray]:
    """True per-run failure probabilities and class indices of ``n_tests`` tests."""
    shares = np.array([c.share for c in mix], dtype=np.float64)
    classes = rng.choice(len(mix), size=n_tests, p=shares / shares.sum())
    low = np.array([c.low for c in mix])[classes]
    high = np.array([c.high for c in mix])[classes]
    log_u = np.array([c.log_uniform for c in mix])[classes]
    u = rng.random(n_tests)
    log_low, log_high = np.log(np.maximum(low, 1e-300)), np.log(np.maximum(high, 1e-300))
    rates = np.where(log_u, np.exp(log_low + u * (log_high - log_low)), low + u * (high - low))
    return rates, classes


def draw_job(
    rng: np.random.Generator,
    n_tests: int = 3000,
    mix: Sequence[TestClass] = DEFAULT_MIX,
    *,
    suite: str = "e2e",
) -> SimJob:
    rates, classes = draw_fail_rates(rng, n_tests, mix)
    names = tuple(f"test-{i:05d}" for i in range(n_tests))
    return SimJob((suite,) * n_tests, names, rates, classes, tuple(mix))


def _split(
    rng: np.random.Generator,
    ran: np.ndarray,
    fail_rates: np.ndarray,
    flake_share: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    failures = rng.binomial(ran, np.clip(fail_rates, 0.0, 1.0))
    passing = ran - failures
    flakes = rng.binomial(passing, flake_share) if flake_share > 0 else np.zeros_like(passing)
    return passing - flakes, failures, flakes


def draw_history(
    rng: np.random.Generator,
    fail_rates: np.ndarray,
    n_runs: int = 200,
    *,
    flake_share: float = 0.0,
    skip_rates: np.ndarray | None = None,
) -> Counts:
    """Per-test history counts over ``n_runs`` runs (skips drawn first, then outcomes)."""
    m = fail_rates.size
    skips = rng.binomial(n_runs, skip_rates) if skip_rates is not None else np.zeros(m, np.int64)
    passes, failures, flakes = _split(rng, n_runs - skips, fail_rates, flake_share)
    return Counts(passes, failures, flakes, skips)


def payload_rates(fail_rates: np.ndarray, injection: Injection | None) -> np.ndarray:
    if injection is None:
        return fail_rates
    rates = fail_rates.copy()
    rates[injection.test] = injection.failure_rate
    return rates


def draw_payload_runs(
    rng: np.random.Generator,
    fail_rates: np.ndarray,
    k: int = 10,
    *,
    injection: Injection | None = None,
    flake_share: float = 0.0,
    skip_rates: np.ndarray | None = None,
) -> np.ndarray:
    """Per-run outcomes ``(k, tests)`` as :class:`api.domain.TestStatus` values (int8)."""
    rates = payload_rates(fail_rates, injection)
    m = rates.size
    failed = rng.random((k, m)) < rates
    status = np.where(failed, TestStatus.FAILED, TestStatus.PASSED).astype(np.int8)
    if flake_share > 0:
        status[~failed & (rng.random((k, m)) < flake_share)] = TestStatus.FLAKED
    if skip_rates is not None:
        status[rng.random((k, m)) < skip_rates] = TestStatus.SKIPPED
    return status


def tally_statuses(statuses: np.ndarray) -> Counts:
    """Counts per test (column) of a ``(runs, tests)`` status matrix."""

    def count(*codes: TestStatus) -> np.ndarray:
        return np.isin(statuses, [int(c) for c in codes]).sum(axis=0)

    return Counts(
        passes=count(TestStatus.PASSED),
        failures=count(TestStatus.FAILED, TestStatus.ERROR),
        flakes=count(TestStatus.FLAKED),
        skips=count(TestStatus.SKIPPED),
    )


def draw_payload_counts(
    rng: np.random.Generator,
    fail_rates: np.ndarray,
    k: int = 10,
    *,
    injection: Injection | None = None,
    flake_share: float = 0.0,
    skip_rates: np.ndarray | None = None,
) -> Counts:
    """Same distribution as ``tally_statuses(draw_payload_runs(...))``, drawn as counts."""
    return draw_history(
        rng,
        payload_rates(fail_rates, injection),
        k,
        flake_share=flake_share,
        skip_rates=skip_rates,
    )


# -- injected regressions -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RegressionKind:
    """An injected regression: eligible tests (pass rate in ``[pass_low, pass_high]``) and the
    per-run failure rate the regressed test jumps to."""

    name: str
    failure_rate: float
    pass_low: float
    pass_high: float


REGRESSIONS: tuple[RegressionKind, ...] = (
    RegressionKind("permanent", 1.0, 0.95, 1.0),
    RegressionKind("stable->50%", 0.5, 0.998, 1.0),
    RegressionKind("stable->70%", 0.3, 0.998, 1.0),
    RegressionKind("flaky->50%", 0.5, 0.95, 0.99),
)
KINDS = {kind.name: kind for kind in REGRESSIONS}


def eligible(
    kind: RegressionKind, job: SimJob, history: Counts | None = None, *, by: str = "baseline"
) -> np.ndarray:
    """Indices of the tests a regression of ``kind`` may hit.

    ``by="baseline"``: the pass rate the gate sees, ``(passes + flakes) / runs`` of ``history``
    (so "stable, >= 99.8%" means no failure in 200 runs); ``by="true"``: the true pass rate.
    """
    if by == "true":
        rate = 1.0 - job.fail_rates
    elif history is None:
        raise ValueError("by='baseline' needs the history counts")
    else:
        runs = history.passes + history.flakes + history.failures
        rate = np.where(runs > 0, (history.passes + history.flakes) / np.maximum(runs, 1), np.nan)
    return np.nonzero((rate >= kind.pass_low - 1e-12) & (rate <= kind.pass_high + 1e-12))[0]


def pick_injection(
    rng: np.random.Generator,
    job: SimJob,
    kind: RegressionKind | str,
    history: Counts | None = None,
    *,
    by: str = "baseline",
) -> Injection:
    """A regression of ``kind`` in a uniformly chosen eligible test."""
    kind = KINDS[kind] if isinstance(kind, str) else kind
    return Injection(int(rng.choice(eligible(kind, job, history, by=by))), kind.failure_rate)



# -- the oracle ------------------------------------------------------------------------------

def oracle_cuts(
    fail_rates: np.ndarray,
    k: np.ndarray,
    *,
    budget: float = DEFAULT_BUDGET,
    alternatives: Sequence[tuple[float, float]] = DEFAULT_ALTERNATIVES,
) -> np.ndarray:
    """The oracle's critical failure counts: binomial nulls with the true rates, same budget
    allocation as ``bayes`` (tests with ``k = 0`` get ``1``, irrelevant since they cannot fail).
    """
    k = np.asarray(k, dtype=np.int64)
    tails = upper_tails(binomial_pmf(k, fail_rates))
    power = alternative_tails(k, fail_rates, alternatives)
    return allocate(tails[:, : power.shape[1]], power, k, budget)


def oracle(
    fail_rates: np.ndarray,
    counts: Counts,
    *,
    budget: float = DEFAULT_BUDGET,
    alternatives: Sequence[tuple[float, float]] = DEFAULT_ALTERNATIVES,
) -> np.ndarray:
    """Which tests the oracle flags for a payload's counts (bool per test)."""
    k = counts.passes + counts.flakes + counts.failures
    cuts = oracle_cuts(fail_rates, k, budget=budget, alternatives=alternatives)
    return (counts.failures >= cuts) & (k > 0)



# -- exact expectations ----------------------------------------------------------------------

def blocking_matrix(policy: str, job: SimJob, base: ComputedBaseline, k: int) -> np.ndarray:
    """``block[i, x]``: would ``policy`` flag test ``i`` if it failed ``x`` of ``k`` runs?

    Evaluates the real policy ``k + 1`` times, every test failing ``x`` runs at once. Exact for
    these policies when every test runs ``k`` times: their per-test decision depends on the
    other tests only through each test's ``k`` (bayes' budget allocation), never on outcomes.
    """
    m = job.fail_rates.size
    index = {name: i for i, name in enumerate(job.names)}
    block = np.zeros((m, k + 1), dtype=bool)
    for x in range(k + 1):
        tallies = [TestTally(s, n, k - x, x) for s, n in zip(job.suites, job.names, strict=True)]
        result = policies.evaluate(policy, tallies, base.tests, base.prior)
        for r in result.regressions:
            block[index[r.test], x] = True
    return block


def oracle_blocking_matrix(job: SimJob, k: int) -> np.ndarray:
    cuts = oracle_cuts(job.fail_rates, np.full(job.fail_rates.size, k))
    return np.arange(k + 1)[None, :] >= cuts[:, None]


def exact_rates(block: np.ndarray, job: SimJob, history: Counts, k: int) -> dict[str, float]:
    """Expected false-block rate of a good payload and expected detection per regression kind
    (uniform over eligible tests, by baseline and by true pass rate) for a blocking matrix."""
    p_block = (binomial_pmf(np.full(job.fail_rates.size, k), job.fail_rates) * block).sum(1)
    with np.errstate(divide="ignore"):
        out = {"good": float(-np.expm1(np.sum(np.log1p(-np.minimum(p_block, 1.0)))))}
    for kind in REGRESSIONS:
        pmf = binomial_pmf(np.array([k]), np.array([kind.failure_rate]))[0]
        detect = (block * pmf[None, :]).sum(1)
        for by in ("baseline", "true"):
            idx = eligible(kind, job, history, by=by)
            out[f"{kind.name} [{by}]"] = float(detect[idx].mean()) if idx.size else float("nan")
    return out

