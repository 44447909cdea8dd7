"""Distributions and the false-block budget allocation behind the ``bayes`` policy.

Pure numpy/scipy over arrays (one row per test, one column per failure count), shared by
:mod:`api.stats.bayes` and the simulation's oracle (:mod:`api.stats.simulate`), which spends the
same budget the same way but with the true pass rates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special

from api.stats.types import Prior

# -- distributions ---------------------------------------------------------------------------


def beta_binomial_pmf(k: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``pmf[i, x] = P(X_i = x)``, ``X_i ~ BetaBinomial(k_i, a_i, b_i)``; zero for ``x > k_i``.

    Shape ``(m, max(k) + 1)``. Computed from ``P(X = 0) = B(a, k + b) / B(a, b)`` and the ratio
    ``P(x + 1) / P(x) = (k - x)(x + a) / ((x + 1)(k - x - 1 + b))`` in log space.
    """
    k = np.asarray(k, dtype=np.float64)[:, None]
    a = np.asarray(a, dtype=np.float64)[:, None]
    b = np.asarray(b, dtype=np.float64)[:, None]
    width = int(k.max(initial=0)) + 1
    x = np.arange(width - 1, dtype=np.float64)[None, :]
    step = x < k
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(k - x) - np.log(x + 1) + np.log(x + a) - np.log(k - x - 1 + b)
    log_ratio = np.where(step, log_ratio, -np.inf)
    log_pmf = np.empty((k.shape[0], width))
    log_pmf[:, :1] = special.betaln(a, k + b) - special.betaln(a, b)
    np.cumsum(log_ratio, axis=1, out=log_pmf[:, 1:])
    log_pmf[:, 1:] += log_pmf[:, :1]
    return np.exp(log_pmf)


def binomial_pmf(k: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``pmf[i, x] = P(Bin(k_i, q_i) = x)``; zero for ``x > k_i``. Shape ``(m, max(k) + 1)``."""
    k = np.asarray(k, dtype=np.float64)[:, None]
    q = np.clip(np.asarray(q, dtype=np.float64)[:, None], 0.0, 1.0)
    width = int(k.max(initial=0)) + 1
    x = np.arange(width, dtype=np.float64)[None, :]
    valid = x <= k
    xs = np.where(valid, x, 0.0)
    rest = np.where(valid, k - x, 0.0)
    log_choose = special.gammaln(k + 1) - special.gammaln(xs + 1) - special.gammaln(rest + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = log_choose + special.xlogy(xs, q) + special.xlog1py(rest, -q)
    return np.exp(np.where(valid, log_pmf, -np.inf))


def predictive_pmf(
    prior: Prior, k: np.ndarray, failures_h: np.ndarray, passes_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive pmf of failures in ``k`` runs given history, and its mean rate.

    For a mixture prior each component ``(w, a, b)`` is updated to ``Beta(a + failures_h,
    b + passes_h)`` and reweighted by how well it explains the history
    (``w * B(a + failures_h, b + passes_h) / B(a, b)``); the predictive is the mixture of the
    components' beta-binomials. Returns ``(pmf (m, max(k) + 1), mean failure rate (m,))``.
    """
    parts = prior.parts
    log_w = np.stack(
        [
            np.log(w) + special.betaln(a + failures_h, b + passes_h) - special.betaln(a, b)
            for w, a, b in parts
        ],
        axis=1,
    )
    post = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    pmf = np.zeros((len(k), int(np.max(k, initial=0)) + 1))
    mean = np.zeros(len(k))
    for j, (_, a, b) in enumerate(parts):
        pmf += post[:, j : j + 1] * beta_binomial_pmf(k, a + failures_h, b + passes_h)
        mean += post[:, j] * (a + failures_h) / (a + b + failures_h + passes_h)
    return pmf, mean


def upper_tails(pmf: np.ndarray) -> np.ndarray:
    """``tail[i, c] = P(X_i >= c)`` for ``c = 0 .. width``; summed from the top for accuracy."""
    tails = np.zeros((pmf.shape[0], pmf.shape[1] + 1))
    tails[:, :-1] = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]
    return np.minimum(tails, 1.0)


def alternative_tails(
    k: np.ndarray, null_mean: np.ndarray, alternatives: Sequence[tuple[float, float]]
) -> np.ndarray:
    """Weighted power ``sum_j w_j P(Bin(k_i, f_j) >= c)`` over the alternatives ``f_j`` that are
    regressions for test ``i`` (``f_j`` above its null mean failure rate); ``(m, max(k) + 2)``.
    """
    k = np.asarray(k, dtype=np.int64)
    width = int(k.max(initial=0)) + 1
    ks, where = np.unique(k, return_inverse=True)
    power = np.zeros((k.size, width + 1))
    for rate, weight in alternatives:
        applies = rate > np.asarray(null_mean)
        if weight <= 0 or not applies.any():
            continue
        tails = upper_tails(binomial_pmf(ks, np.full(ks.size, rate)))
        block = np.zeros((ks.size, width + 1))
        block[:, : tails.shape[1]] = tails
        power += weight * block[where] * applies[:, None]
    return power


# -- budget allocation -----------------------------------------------------------------------


def allocate(
    null_tails: np.ndarray,
    power: np.ndarray,
    k: np.ndarray,
    budget: float,
    *,
    forced: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Critical failure counts ``c_i`` (block iff ``failures >= c_i``) spending ``budget``.

    ``null_tails[i, c] = P(X_i >= c)`` under the good-payload predictive and ``power[i, c]``
    the cut's weighted power under the alternatives, both ``(m, W)`` with ``W >= max(k) + 2``.
    ``c_i = k_i + 1`` means "cannot block"; ``forced`` rows must at least block when failing all
    ``k_i`` runs. Row ``i`` stands for ``weights[i]`` identical tests (default 1): they get one
    cut and cost ``weights[i]`` times as much. The total size ``sum_i w_i null_tails[i, c_i]``
    stays within ``budget`` (unless the forced cuts alone exceed it: then only those are set).

    Method: for each row, the cuts on the upper concave hull of ``(size, power)`` are exactly
    those a Lagrangian ``power - lambda * size`` can pick; moving from one hull cut to the next
    costs ``delta size`` and gains ``delta power`` at slope ``lambda``. All rows' steps are
    taken greedily in decreasing slope (most power per unit of false-block risk first); a step
    that no longer fits closes its row (a row's steps must be taken in order), later cheaper
    steps of other rows may still fit.
    """
    m, width = null_tails.shape
    k = np.asarray(k, dtype=np.int64)
    w = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64)
    cols = np.arange(width)[None, :]
    top = k[:, None] + 1
    allowed = (cols >= 1) & (cols <= top)
    if forced is not None:
        allowed &= ~((cols == top) & np.asarray(forced, dtype=bool)[:, None])
    start = np.where(allowed, cols, -1).max(axis=1)  # least rejecting allowed cut
    if m == 0:
        return start
    size = np.where(allowed, null_tails, np.inf)
    gain = np.where(allowed, power, -np.inf)

    upper = np.empty((m, width))
    hull = np.empty((m, width), dtype=bool)
    chunk = max(1, _PAIRWISE_CELLS // (width * width))  # bounds memory for large k
    for lo in range(0, m, chunk):
        part = slice(lo, lo + chunk)
        upper[part], hull[part] = _hull(size[part], gain[part], allowed[part])
    hull[np.arange(m), start] = True
    step = hull & (cols < start[:, None]) & (upper > 0)

    # Each step's cost: size minus that of the next hull cut above it (larger c).
    prev_size = np.zeros(m)
    prev_of = np.zeros((m, width))
    for c in range(width - 1, -1, -1):
        prev_of[:, c] = prev_size
        prev_size = np.where(hull[:, c], size[:, c], prev_size)
    rows, cs = np.nonzero(step)
    cost = (size[rows, cs] - prev_of[rows, cs]) * w[rows]
    key = upper[rows, cs]
    order = np.lexsort((-cs, rows, -key))  # slope desc, then row, then larger c first
    rows, cs, cost = rows[order], cs[order], cost[order]

    cuts = start.copy()
    spent = float(
        np.sum(w * np.where(np.isfinite(size[np.arange(m), start]), size[np.arange(m), start], 0.0))
    )
    if spent > budget:
        return cuts
    fits = spent + np.cumsum(cost) <= budget
    n_fit = int(np.argmin(fits)) if not fits.all() else fits.size
    cuts_taken = cs[:n_fit]
    np.minimum.at(cuts, rows[:n_fit], cuts_taken)
    spent += float(cost[:n_fit].sum())
    closed = np.zeros(m, dtype=bool)
    for r, c, dc in zip(rows[n_fit:], cs[n_fit:], cost[n_fit:], strict=True):
        if closed[r]:
            continue
        if spent + dc <= budget:
            cuts[r] = c
            spent += dc
        else:
            closed[r] = True
    return cuts


_PAIRWISE_CELLS = 4_000_000


def _hull(size: np.ndarray, gain: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: ``upper[c]``, the Lagrange multiplier below which cut ``c`` beats every cheaper
    cut, and whether ``c`` is a vertex of the upper concave hull of ``(size, gain)``."""
    width = size.shape[1]
    cols = np.arange(width)
    both = allowed[:, :, None] & allowed[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        d_size = np.where(both, size[:, :, None] - size[:, None, :], np.nan)
        d_gain = np.where(both, gain[:, :, None] - gain[:, None, :], np.nan)
        slope = d_gain / d_size
    upper = np.where(both & (d_size > 0), slope, np.inf).min(axis=2)  # c' cheaper than c
    lower = np.where(both & (d_size < 0), slope, -np.inf).max(axis=2)  # c' dearer than c
    same = both & (d_size == 0) & ~np.eye(width, dtype=bool)[None]
    beaten = same & ((d_gain < 0) | ((d_gain == 0) & (cols[None, None, :] > cols[None, :, None])))
    return upper, allowed & (lower <= upper) & ~beaten.any(axis=2)


def sidak_level(budget: float, tests: int) -> float:
    """Per-test level ``1 - (1 - B)^(1/m)`` (used for informing tests, which get no budget)."""
    return float(-np.expm1(np.log1p(-budget) / max(1, tests)))
