"""The ``bayes`` disruption policy: a per-payload false-block budget spread across keys.

Why not the aggregator. ci-tools' checks are tuned one by one (P70, P85, mean + 5 stddev per
backend and per alert), so a job with 36 backends and dozens of alerts runs a hundred loosely
calibrated tests per payload and nobody knows how often a good payload is blocked; and ci-tools'
own docs say 10 runs "is not enough to attempt subtle regression detection" with them.

Model. A key's seconds per run are zero-inflated (most runs see no disruption, a few see
seconds to minutes), so no parametric family fits every key. Two checks per key read the
payload's ``k`` runs against the key's own history ``h`` (the job's runs 10 to 3 days ago, zeros
included), both exact under exchangeability (a good payload's runs are like the past ones):

* ``seconds should not be worse`` reads the key at *levels*: "at least 1 s" (the zero mass),
  "at least v" for every distinct past value ``v`` (quantiles when there are more than 16), and
  "more than the worst past run". For level ``v`` with ``e`` of ``n`` past runs at or above it,
  the count ``X`` of payload runs at or above it follows the posterior predictive of a binomial
  whose rate has the uniform prior updated by the history, ``BetaBinomial(k, e + 1, n - e + 1)``
  (for continuous data, exactly the placement distribution of a rank test). Every (key, level)
  is a row with a cut ``c`` (block when ``X >= c``); :func:`api.stats.budget.allocate` (§5's
  allocation) keeps ``sum P(X >= c)`` within its share of the budget while maximising power
  against 30%, 50% and 100% of runs at or above the level: the budget goes where a regression
  can be seen. A shift (+10 s) empties the zero mass and crowds the level where the past thins
  out; an alert firing at its old P99 puts every run at that level; a doubling pushes runs past
  the past maximum. Cuts depend only on the history and ``k``, never on the outcome.
* ``total seconds should not be worse``: the payload's total seconds (each run counted up to
  the past maximum + 1) against the ``k``-fold convolution of the past runs' distribution (plus
  one pseudo-run beyond the past), at an even split of its share of the budget across keys. It
  sees a doubling spread over runs that no single level isolates.

Budget. The job's per-payload false-block budget ``B`` (1% by default, §5's knob), less 10%
safety, half to each check family; by the union bound a good payload is blocked with probability
at most ``B``.

A key without history is skipped (the single-run rule still judges it against origin's
baselines); a key whose every row is too weak to block within its share says so.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from api.disruption.checks import (
    CheckStatus,
    KeyRuns,
    PayloadCheck,
    PayloadResult,
    judged_runs,
)
from api.disruption.history import History, KeyHistory, summarise
from api.disruption.model import MeasurementKey, RunMeasurements
from api.stats.budget import allocate, alternative_tails, beta_binomial_pmf, upper_tails
from api.stats.defaults import POLICY_DEFAULTS

NAME = "bayes"
CHECK = "seconds should not be worse"
TOTAL_CHECK = "total seconds should not be worse"
QUANTILES = (50.0, 60.0, 70.0, 75.0, 80.0, 85.0, 88.0, 90.0, 92.0, 94.0, 96.0, 98.0, 99.0)
MAX_LEVELS = 16
TOTAL_SHARE = 0.5
TOTAL_BINS = 128
"""Share of the spendable budget for the total-seconds checks (split evenly across keys)."""


@dataclass(frozen=True, slots=True)
class _Row:
    key: MeasurementKey
    level: int
    exceeded: int
    """Past runs at or above ``level``."""
    past: int


def levels(history: KeyHistory, quantiles: Sequence[float] = QUANTILES) -> list[int]:
    """The whole-second levels a key is read at: 1 s, every distinct past value (so a shift is
    seen where the past thins out, wherever that is), and more than the past maximum. With
    more than ``MAX_LEVELS`` distinct values, the ceiled ``quantiles`` stand in for them."""
    values = set(history.seconds)
    if len(values) > MAX_LEVELS:
        values = {math.ceil(history.percentile(q)) for q in quantiles}
    return sorted({1, history.seconds[-1] + 1} | {v for v in values if v >= 1})


def evaluate(
    runs: Sequence[RunMeasurements],
    history: History,
    *,
    budget: float = POLICY_DEFAULTS.false_block_budget,
    safety: float = POLICY_DEFAULTS.safety,
    alternatives: tuple[tuple[float, float], ...] = POLICY_DEFAULTS.alternatives,
    quantiles: Sequence[float] = QUANTILES,
    total_share: float = TOTAL_SHARE,
    history_note: str = "",
    payload: Mapping[MeasurementKey, KeyRuns] | None = None,
) -> PayloadResult:
    """Judge one job's payload runs against ``history`` (seconds per past run, per key);
    ``payload``: :func:`judged_runs` of the same runs and history, when already built."""
    prefix = f"{history_note}: " if history_note else ""
    past = summarise(history)
    seconds = judged_runs(runs, history) if payload is None else payload
    keys = list(seconds)
    rows: list[_Row] = []
    attempts: list[int] = []  # each row's payload runs
    spans: dict[MeasurementKey, slice] = {}  # each key's rows
    for key in keys:
        found = past.get(key)
        if found is not None:
            made = [_Row(key, v, found.at_or_above(v), found.runs)
                    for v in levels(found, quantiles)]
            spans[key] = slice(len(rows), len(rows) + len(made))
            rows += made
            attempts += [len(seconds[key])] * len(made)
    spendable = budget * (1.0 - safety)
    cuts, tails = _cuts(rows, attempts, spendable * (1.0 - total_share), alternatives)
    judged_keys = [key for key in keys if key in past and seconds[key]]
    total_alpha = spendable * total_share / max(1, len(judged_keys))
    checks = []
    for key in keys:
        observed = seconds[key]
        span = spans.get(key)
        if span is None:
            checks.append(PayloadCheck(key, CHECK, CheckStatus.SKIPPED,
                                       f"{prefix}we have no historical data",
                                       observed.passing()))
            continue
        checks.append(_judge(key, observed, rows[span], cuts[span].tolist(), list(tails[span]),
                             prefix))
        if observed:
            checks.append(_judge_total(key, observed, past[key], total_alpha, prefix))
    return PayloadResult(NAME, tuple(checks))


def total_grid(history: KeyHistory, bins: int = TOTAL_BINS) -> tuple[int, int]:
    """``(cap, width)``: runs count up to ``cap`` = the past maximum + 1 seconds, in steps of
    ``width`` seconds so that a key with minutes of disruption needs no more than ``bins``."""
    cap = history.seconds[-1] + 1
    return cap, max(1, -(-cap // bins))


def run_score(seconds: int, cap: int, width: int) -> int:
    return min(seconds, cap) // width


def total_tail(history: KeyHistory, k: int, total: int, bins: int = TOTAL_BINS) -> float:
    """``P(T >= total)`` for ``T`` the sum of :func:`run_score` over ``k`` runs like the past.

    The predictive of one run is the past runs' empirical distribution plus one more atom at
    ``cap`` ("a run beyond every past one", as a Dirichlet process with one pseudo-run); the
    total's is its ``k``-fold convolution, taken by FFT. Scores are exact whole seconds for
    keys whose past stays under ``bins`` seconds and coarser steps above: the test is exact
    for the score it computes either way.
    """
    cap, width = total_grid(history, bins)
    scores = np.asarray(history.seconds, dtype=np.int64) // width
    counts = np.bincount(scores, minlength=cap // width + 1).astype(np.float64)
    counts[cap // width] += 1.0
    pmf = counts / counts.sum()
    span = k * (pmf.size - 1) + 1
    if total >= span:
        return 0.0
    size = 1 << max(1, (span - 1).bit_length())
    dist = np.clip(np.fft.irfft(np.fft.rfft(pmf, size) ** k, size)[:span], 0.0, None)
    return float(min(1.0, dist[max(0, total):].sum()))


def _judge_total(key: MeasurementKey, observed: KeyRuns, history: KeyHistory,
                 alpha: float, prefix: str) -> PayloadCheck:
    cap, width = total_grid(history)
    total = sum(run_score(s, cap, width) for s in observed.seconds)
    median = history.percentile(50)
    runs = observed.at_most(median)
    unit = "s" if width == 1 else f" x {width}s"
    said = (f"{prefix}{len(observed)} runs total {total}{unit} (each counted up to {cap}s), "
            f"the history's mean {history.mean:.2f}s per run over {history.runs} runs")
    past_total = int((history.array // width).sum())
    expected = (past_total + cap // width) / (history.runs + 1) * len(observed)
    if total <= expected:
        # never blocked at or below the predictive's mean (only removes rejections, so the
        # test stays within its level), and no convolution to compute
        return PayloadCheck(key, TOTAL_CHECK, CheckStatus.PASS,
                            f"{said}; at most the expected total: passes", runs)
    p_value = total_tail(history, len(observed), total)
    status = CheckStatus.FAIL if p_value <= alpha else CheckStatus.PASS
    word = "blocks" if status is CheckStatus.FAIL else "passes"
    reason = f"{said}; p = {p_value:.2g} {word} at the key's level {alpha:.2g}"
    return PayloadCheck(key, TOTAL_CHECK, status, reason, runs)


def _cuts(rows: Sequence[_Row], attempts: Sequence[int], spendable: float,
          alternatives: tuple[tuple[float, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cut and its null upper tails ``P(X >= c)`` (``(m, max k + 2)``), for
    ``attempts[i]`` payload runs judged by row ``i``."""
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    k = np.array(attempts, dtype=np.int64)
    a = np.array([row.exceeded + 1.0 for row in rows])
    b = np.array([row.past - row.exceeded + 1.0 for row in rows])
    tails = upper_tails(beta_binomial_pmf(k, a, b))
    power = alternative_tails(k, a / (a + b), alternatives)
    return allocate(tails, power, k, spendable), tails


def _judge(key: MeasurementKey, observed: KeyRuns, rows: Sequence[_Row],
           cuts: Sequence[int], tails: Sequence[np.ndarray], prefix: str) -> PayloadCheck:
    k = len(observed)
    ordered = sorted(observed.seconds)
    counts = [k - bisect.bisect_left(ordered, row.level) for row in rows]
    p_values = [float(tail[count]) for tail, count in zip(tails, counts, strict=True)]
    blocking = [i for i, (count, cut) in enumerate(zip(counts, cuts, strict=True)) if count >= cut]
    judged = [i for i, cut in enumerate(cuts) if cut <= k]
    if blocking:
        i = min(blocking, key=lambda j: p_values[j])
        status = CheckStatus.FAIL
    elif judged:
        i = min(judged, key=lambda j: p_values[j])
        status = CheckStatus.PASS
    else:
        return PayloadCheck(key, CHECK, CheckStatus.SKIPPED,
                            f"{prefix}{k} runs cannot show a regression of this key within its "
                            "share of the false-block budget", observed.passing())
    row, cut = rows[i], cuts[i]
    runs = observed.below(row.level)
    word = "blocks" if status is CheckStatus.FAIL else "would block"
    reason = (f"{prefix}{counts[i]} of {k} runs at or above {row.level}s, where the history has "
              f"{row.exceeded} of {row.past} runs; {cut} or more {word} "
              f"(p = {p_values[i]:.2g})")
    return PayloadCheck(key, CHECK, status, reason, runs, float(row.level))
