"""Baselines: per-test history counts -> stored per-test rates, plus the job's fitted prior.

Pure functions, no I/O. The store gathers each test's :class:`~api.stats.types.TestTally` over
the history window (other payloads only); :func:`compute_baseline` turns them into the records
of a new baseline version and the job-level beta prior the ``bayes`` policy uses.

Definitions (see also :mod:`api.stats.types`):

* ``runs = passes + flakes + failures`` (skips are not evidence); a test with no evidence in the
  window gets no record (unless latching carries its previous record forward).
* ``pass_rate = (passes + flakes) / runs``: a flake (failed and passed inside one run) is a pass.
* ``stddev = sqrt(q * (1 - q))`` with ``q = 1 - pass_rate``: the population (ddof = 0) standard
  deviation of the per-run failure indicator.

Latching (SPEC section 5): with ``latch=True`` a new version never lowers a test's pass rate
below the previous version's. When the window's rate is lower, the record keeps the previous
``pass_rate`` (and the matching ``stddev``), sets ``latched=True`` and keeps the window's own
rate in ``observed_pass_rate``; the counts stay the window's. A test the window did not see keeps
its previous record (marked latched), so dropping out of the window cannot loosen it either.
Loosening is explicit: tests named in ``unlatch`` (the admin call, whose audit log is the
store's business) take the window's values.

Prior fit (empirical Bayes, :func:`fit_prior`): each test's per-run failure probability is
modelled as drawn from a job-level prior, so its failure count is beta-binomial. The prior's
parameters maximise the marginal likelihood of all tests' ``(runs, failures)`` (L-BFGS-B with
analytic gradients; identical ``(runs, failures)`` pairs are grouped, so 5,000 tests cost a few
hundred terms). Method of moments breaks down exactly when most tests never fail (the spread
between tests is then mostly binomial noise); the marginal likelihood does not. A single beta is
fitted, and mixtures of two and three betas; the BIC picks one. The mixture matters: a job that
is 90% near-perfect tests plus a flaky tail forces a single beta into a compromise that is far
too pessimistic about the stable tests and too optimistic about the flaky ones, while the
mixture's posterior predictive is calibrated (checked in ``bench/simulate.py``). Everything is
bounded so the prior stays proper (each ``alpha`` in [0.01, 100], ``beta`` in [1, 1e6]); the
single beta also carries a very weak log-normal hyperprior centred on :data:`DEFAULT_PRIOR` so
degenerate populations (every test always passes, a handful of tests) give a sane answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from api.domain import TestResult, TestStatus, merge_status
from api.stats.defaults import POLICY_DEFAULTS
from api.stats.evidence import baseline_index
from api.stats.types import ComputedBaseline, Prior, TestBaseline, TestKey, TestTally

DEFAULT_PRIOR = Prior(alpha=0.2, beta=40.0)
"""Used when a job has no history at all; the centre of the fit's weak hyperprior."""


def tally_runs(runs: Iterable[Iterable[TestResult]]) -> tuple[TestTally, ...]:
    """Tally each test's merged per-run outcomes over a set of runs (one iterable per run).

    ``error`` counts as a failure, ``flaked`` as a flake (a pass for the verdict). The caller
    passes only runs that are evidence (``success``/``failure``, never ``error``/``aborted``). A
    test listed twice within one run is merged with :func:`api.domain.merge_status` first.
    """
    counts: dict[TestKey, list[int]] = {}
    slot = {
        TestStatus.PASSED: 0,
        TestStatus.FAILED: 1,
        TestStatus.ERROR: 1,
        TestStatus.FLAKED: 2,
        TestStatus.SKIPPED: 3,
    }
    for run in runs:
        seen: dict[TestKey, TestStatus] = {}
        for result in run:
            key = (result.suite, result.name)
            prior = seen.get(key)
            seen[key] = result.status if prior is None else merge_status(prior, result.status)
        for key, status in seen.items():
            counts.setdefault(key, [0, 0, 0, 0])[slot[status]] += 1
    return tuple(
        TestTally(suite, name, passes=c[0], failures=c[1], flakes=c[2], skips=c[3])
        for (suite, name), c in counts.items()
    )


def pass_rate_and_stddev(passes: float, runs: float) -> tuple[float, float]:
    """``(pass_rate, stddev)`` for ``passes`` (flakes included) out of ``runs`` > 0."""
    rate = min(1.0, max(0.0, passes / runs))
    return rate, math.sqrt(rate * (1.0 - rate))


def compute_baseline(
    tallies: Iterable[TestTally],
    *,
    previous: Mapping[TestKey, TestBaseline] | Iterable[TestBaseline] | None = None,
    latch: bool = POLICY_DEFAULTS.latch,
    unlatch: Iterable[TestKey] = (),
    fit: bool = True,
    prior_bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> ComputedBaseline:
    """Per-test baseline records of a new version and the job's fitted prior.

    ``tallies``: one per test over the history window (duplicates are summed). ``previous``: the
    previous version's records (mapping or iterable), consulted only when ``latch`` is on.
    ``unlatch``: tests whose rate may go down this time (explicit loosening). ``fit=False``
    returns :data:`DEFAULT_PRIOR` instead of fitting. Records come out sorted by
    ``(suite, name)``.
    """
    merged: dict[TestKey, list[int]] = {}
    for t in tallies:
        c = merged.setdefault(t.key, [0, 0, 0])
        c[0] += t.passes
        c[1] += t.failures
        c[2] += t.flakes
    prev = baseline_index(previous) if latch else {}
    loosen = frozenset(unlatch)

    records: dict[TestKey, TestBaseline] = {}
    for key, (passes, failures, flakes) in merged.items():
        runs = passes + failures + flakes
        if runs == 0:
            continue
        rate, stddev = pass_rate_and_stddev(passes + flakes, runs)
        old = prev.get(key)
        if old is not None and key not in loosen and old.pass_rate > rate:
            records[key] = TestBaseline(
                key[0],
                key[1],
                runs,
                passes,
                failures,
                flakes,
                pass_rate=old.pass_rate,
                stddev=pass_rate_and_stddev(old.pass_rate, 1.0)[1],
                latched=True,
                observed_pass_rate=rate,
            )
        else:
            records[key] = TestBaseline(
                key[0], key[1], runs, passes, failures, flakes, pass_rate=rate, stddev=stddev
            )
    for key, old in prev.items():
        if key not in records and key not in loosen:
            records[key] = TestBaseline(
                old.suite,
                old.name,
                old.runs,
                old.passes,
                old.failures,
                old.flakes,
                pass_rate=old.pass_rate,
                stddev=old.stddev,
                latched=True,
                observed_pass_rate=old.observed_pass_rate,
            )

    tests = tuple(records[key] for key in sorted(records))
    observed = [(b.runs, b.failures) for b in tests if b.key in merged]
    if fit and observed:
        runs_arr, fail_arr = np.array(observed, dtype=np.float64).T
        prior = fit_prior(runs_arr, fail_arr, bounds=prior_bounds)
    else:
        prior = DEFAULT_PRIOR
    return ComputedBaseline(tests, prior)


def fit_prior(
    runs: np.ndarray | Iterable[float],
    failures: np.ndarray | Iterable[float],
    *,
    max_components: int = 3,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    hyperprior: Prior = DEFAULT_PRIOR,
    hyper_sd: float = 3.0,
) -> Prior:
    """Empirical-Bayes prior on the per-run failure probability from all tests of a job.

    Fits a single ``Beta(alpha, beta)`` and mixtures of 2 .. ``max_components`` betas by
    maximum marginal likelihood of the tests' ``(runs, failures)`` under the beta-binomial, and
    keeps the fit with the best BIC. Bounds: each component's ``alpha`` in [0.01, 100] and
    ``beta`` in [1, 1e6] (``bounds``). The single beta is regularised by a weak log-normal
    hyperprior (sd ``hyper_sd`` in log space) centred on ``hyperprior``; mixtures start from
    components placed at the 50th/90th/99th percentiles of the tests' smoothed failure rates.
    Tests with no runs are ignored; no tests at all gives ``hyperprior``.
    """
    n = np.asarray(runs, dtype=np.float64).ravel()
    f = np.asarray(failures, dtype=np.float64).ravel()
    if n.shape != f.shape:
        raise ValueError("runs and failures differ in length")
    keep = n > 0
    n, f = n[keep], np.clip(f[keep], 0.0, n[keep])
    if n.size == 0:
        return hyperprior
    pairs, counts = np.unique(np.stack([n, f], axis=1), axis=0, return_counts=True)
    data = _Grouped(pairs[:, 0], pairs[:, 1], counts.astype(np.float64))
    (a_lo, a_hi), (b_lo, b_hi) = bounds or ((0.01, 100.0), (1.0, 1e6))
    log_bounds = ((math.log(a_lo), math.log(a_hi)), (math.log(b_lo), math.log(b_hi)))

    single, ll = _fit_single(data, log_bounds, hyperprior, hyper_sd)
    best, best_bic = single, -2.0 * ll + 2 * math.log(data.total)
    rates = (f + 0.5) / (n + 1.0)
    quantiles = (50.0, 90.0, 99.0)
    for k in range(2, max_components + 1):
        if data.pairs < 3 * k:  # too little variety to identify k components
            break
        means = np.percentile(rates, quantiles[:k] if k <= 3 else np.linspace(50, 99, k))
        fitted = _fit_mixture(data, np.maximum.accumulate(means), log_bounds)
        if fitted is None:
            continue
        prior, ll = fitted
        bic = -2.0 * ll + (3 * k - 1) * math.log(data.total)
        if bic < best_bic:
            best, best_bic = prior, bic
    return best


@dataclass(frozen=True, slots=True)
class _Grouped:
    """Tests grouped by identical ``(runs, failures)``, with their multiplicity."""

    n: np.ndarray
    f: np.ndarray
    count: np.ndarray

    @property
    def total(self) -> float:
        return float(self.count.sum())

    @property
    def pairs(self) -> int:
        return int(self.n.size)


def _log_marginal(data: _Grouped, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log P(f | n, Beta(a, b))`` without the binomial coefficient: ``(pairs, components)``."""
    f, g = data.f[:, None], (data.n - data.f)[:, None]
    return special.betaln(a[None, :] + f, b[None, :] + g) - special.betaln(a, b)[None, :]


def _grad_log_marginal(data: _Grouped, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """Derivatives of :func:`_log_marginal` w.r.t. ``log a`` and ``log b``."""
    psi = special.digamma
    f, n = data.f[:, None], data.n[:, None]
    common = psi(a + b)[None, :] - psi(a[None, :] + b[None, :] + n)
    d_a = (psi(a[None, :] + f) - psi(a)[None, :] + common) * a[None, :]
    d_b = (psi(b[None, :] + n - f) - psi(b)[None, :] + common) * b[None, :]
    return d_a, d_b


def _fit_single(
    data: _Grouped, log_bounds: tuple[tuple[float, float], ...], hyper: Prior, sd: float
) -> tuple[Prior, float]:
    centre = np.log([hyper.alpha, hyper.beta])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = np.exp(theta[:1]), np.exp(theta[1:])
        ll = float(np.sum(data.count * _log_marginal(data, a, b)[:, 0]))
        d_a, d_b = _grad_log_marginal(data, a, b)
        grad = np.array([np.sum(data.count * d_a[:, 0]), np.sum(data.count * d_b[:, 0])])
        dev = (theta - centre) / sd**2
        return -ll + 0.5 * float(np.dot(theta - centre, dev)), -grad + dev

    mean = float(np.clip(np.sum(data.count * data.f) / np.sum(data.count * data.n), 1e-4, 0.5))
    start = _clip_log(np.log([mean * 50.0, (1 - mean) * 50.0]), log_bounds)
    result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=log_bounds)
    a, b = np.exp(result.x)
    ll = float(np.sum(data.count * _log_marginal(data, np.array([a]), np.array([b]))[:, 0]))
    return Prior(alpha=float(a), beta=float(b)), ll


def _fit_mixture(
    data: _Grouped, means: np.ndarray, log_bounds: tuple[tuple[float, float], ...]
) -> tuple[Prior, float] | None:
    """Maximum marginal likelihood mixture of ``len(means)`` betas (L-BFGS-B, softmax weights)."""
    k = means.size
    means = np.clip(means, 1e-5, 0.9)
    start_a = np.full(k, 1.0)
    start_b = (1.0 - means) / means
    theta0 = np.concatenate(
        [
            _clip_log(np.log(start_a), (log_bounds[0],) * k),
            _clip_log(np.log(start_b), (log_bounds[1],) * k),
            np.log(np.full(k - 1, 0.1 / (k - 1)) / 0.9),
        ]
    )
    bounds = [log_bounds[0]] * k + [log_bounds[1]] * k + [(-30.0, 30.0)] * (k - 1)

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        logits = np.concatenate([[0.0], theta[2 * k :]])
        weights = np.exp(logits - logits.max())
        return np.exp(theta[:k]), np.exp(theta[k : 2 * k]), weights / weights.sum()

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b, w = unpack(theta)
        comp = _log_marginal(data, a, b) + np.log(np.maximum(w, 1e-300))[None, :]
        top = comp.max(axis=1, keepdims=True)
        mix = top[:, 0] + np.log(np.exp(comp - top).sum(axis=1))
        resp = np.exp(comp - mix[:, None]) * data.count[:, None]
        d_a, d_b = _grad_log_marginal(data, a, b)
        grad = np.concatenate(
            [
                (resp * d_a).sum(axis=0),
                (resp * d_b).sum(axis=0),
                (resp.sum(axis=0) - data.total * w)[1:],
            ]
        )
        return -float(np.sum(data.count * mix)), -grad

    result = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    if not np.all(np.isfinite(result.x)):
        return None
    a, b, w = unpack(result.x)
    keep = w > 1e-6
    prior = Prior.mixture(zip(w[keep], a[keep], b[keep], strict=True))
    return prior, -float(result.fun)


def _clip_log(values: np.ndarray, log_bounds: Iterable[tuple[float, float]]) -> np.ndarray:
    lo, hi = np.array(list(log_bounds)).T
    return np.clip(values, lo, hi)
