"""The ``bayes`` policy (the default): beta-binomial posterior predictive + a false-block budget.

Model. The job's prior on a test's per-run failure probability ``q`` is fitted from all its
tests (:func:`api.stats.baseline.fit_prior`): a ``Beta(alpha, beta)`` or, when the BIC prefers
it, a mixture of up to three betas (typically "stable", "flaky" and "very flaky" components;
one beta cannot be U-shaped enough for a population that is 90% near-perfect with a flaky tail).
A test's history of ``failures_h`` failures and ``passes_h`` passes (flakes count as passes;
latched baselines contribute ``runs * (1 - pass_rate)`` failures) updates every component to
``Beta(a + failures_h, b + passes_h)`` and reweights them by how well they explain the history.
If the payload is good, the test's failure count over the ``k`` counted runs in which it ran
follows the posterior predictive: a (mixture of) beta-binomial(s). A new test (no baseline)
uses the prior alone: it borrows the population's behaviour.

Per-test decision. Block the test when ``failures >= c`` for a critical value ``c``; its
p-value is the predictive tail ``P(X >= failures)`` and ``allowed_failures = c - 1`` is the
largest failure count whose tail probability stays above the test's allotted level
``P(X >= c)``.

Budget. The job's per-payload false-block budget ``B`` (default 1%) bounds the probability that
a good payload is blocked: by the union bound that probability is at most
``sum_i P(X_i >= c_i)``, so the cuts are chosen with that sum within ``B * (1 - safety)``
(``safety`` = 10% is held back because the fitted prior is a point estimate). Instead of
Bonferroni/Sidak (``B / m`` for every test) the budget is **spent where power is**: the cuts
maximise the expected number of detected regressions under reference alternatives (the test's
failure rate rising to 30%, 50% or 100%, equal weights; knob ``alternatives``). Outcomes are
discrete, so Bonferroni wastes most of the budget: a stable test given ``B/m ~ 3e-6`` can use only
the ``~1e-6`` of its "3 failures" cut, while a flaky test turns extra budget into real power.
The allocation (:func:`api.stats.budget.allocate`) walks every test's upper concave hull of
(size, power) and takes the steps greedily in decreasing power per unit of size. It depends only
on history, the prior and each test's ``k``, never on the payload's outcomes, so the union bound
holds; tests with identical ``(k, history)`` always get the same cut. Tests whose predictive
makes every outcome too likely (say 1 run of a flaky test) get no budget: they cannot block and
are noted ``unblockable``.

Permanent failures. A test that ran at least ``permanent_min_runs`` (3) times and never passed
is always blocked when the predictive probability of that (``pi_i = P(X = k)``) is at most
``permanent_alpha`` (default 0.1% per test): these all-fail cuts are reserved first (cheapest
first, within ``permanent_share`` = half the spendable budget), and the greedy spends the rest.
A brand-new test of a stable job thus cannot fail every run unnoticed even when a few very flaky
tests in the job make the prior's tail heavy.

Notes: ``new_test`` (prior only), ``did_not_run`` (no evidence in any counted run: never
blocks), ``tiny_history`` (fewer than ``tiny_history`` baseline runs: the prior dominates),
``informing`` (would have blocked at the Sidak level ``1 - (1 - B)^(1/m)``, but never blocks),
``unblockable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from api.stats.baseline import DEFAULT_PRIOR
from api.stats.budget import (
    allocate,
    alternative_tails,
    predictive_pmf,
    sidak_level,
    upper_tails,
)
from api.stats.defaults import POLICY_DEFAULTS
from api.stats.evidence import EvidenceArrays, as_evidence
from api.stats.types import (
    Informing,
    Note,
    NoteKind,
    PolicyResult,
    Prior,
    Regression,
    TestBaseline,
    TestKey,
    TestTally,
    Verdict,
)

NAME = "bayes"
# Names kept for the benchmarks and tests; the values live in api.stats.defaults.
DEFAULT_BUDGET = POLICY_DEFAULTS.false_block_budget
DEFAULT_ALTERNATIVES = POLICY_DEFAULTS.alternatives
DEFAULT_SAFETY = POLICY_DEFAULTS.safety

# -- the policy ------------------------------------------------------------------------------


def evaluate(
    evidence: Iterable[TestTally] | EvidenceArrays,
    baselines: Mapping[TestKey, TestBaseline] | Iterable[TestBaseline] | None,
    prior: Prior | None = None,
    *,
    informing: Informing | None = None,
    budget: float = POLICY_DEFAULTS.false_block_budget,
    alternatives: Sequence[tuple[float, float]] = POLICY_DEFAULTS.alternatives,
    tiny_history: int = POLICY_DEFAULTS.tiny_history,
    permanent_min_runs: int = POLICY_DEFAULTS.permanent_min_runs,
    permanent_alpha: float = POLICY_DEFAULTS.permanent_alpha,
    permanent_share: float = POLICY_DEFAULTS.permanent_share,
    safety: float = POLICY_DEFAULTS.safety,
) -> PolicyResult:
    """Judge one job of a payload; see the module docstring for the method.

    ``evidence``: the payload's per-test tallies over its counted runs (or prepared arrays).
    ``baselines``: the current baseline version (``None`` or missing tests: new tests).
    ``prior``: the job's fitted prior (default :data:`api.stats.baseline.DEFAULT_PRIOR`).
    """
    if not 0.0 < budget < 1.0:
        raise ValueError(f"budget must be in (0, 1), got {budget}")
    if not 0.0 <= safety < 1.0:
        raise ValueError(f"safety must be in [0, 1), got {safety}")
    ev = as_evidence(evidence, baselines, informing)
    prior = prior or DEFAULT_PRIOR
    ran = ev.runs > 0
    judged = ran & ~ev.informing
    k = ev.runs
    cuts, p_values, level = thresholds(
        ev,
        prior,
        budget=budget,
        alternatives=alternatives,
        permanent_min_runs=permanent_min_runs,
        permanent_alpha=permanent_alpha,
        permanent_share=permanent_share,
        safety=safety,
    )
    blocked = judged & (ev.failures >= cuts)

    # Informing tests: checked at the Sidak level, never block.
    sidak = sidak_level(budget, int(judged.sum()))
    informing_hits = ran & ev.informing & (p_values <= sidak) & (ev.failures > 0)

    regressions = tuple(
        _regression(ev, int(i), int(cuts[i]), float(p_values[i]), float(level[i]), prior)
        for i in np.nonzero(blocked)[0]
    )
    notes = _notes(ev, ran, judged, cuts, k, informing_hits, p_values, tiny_history, prior)
    return PolicyResult(
        policy=NAME,
        verdict=Verdict.FAIL if regressions else Verdict.PASS,
        tests_checked=int(judged.sum()),
        regressions=regressions,
        notes=notes,
        absent=ev.absent,
        budget=budget,
    )


def thresholds(
    ev: EvidenceArrays,
    prior: Prior,
    *,
    budget: float = POLICY_DEFAULTS.false_block_budget,
    alternatives: Sequence[tuple[float, float]] = POLICY_DEFAULTS.alternatives,
    permanent_min_runs: int = POLICY_DEFAULTS.permanent_min_runs,
    permanent_alpha: float = POLICY_DEFAULTS.permanent_alpha,
    permanent_share: float = POLICY_DEFAULTS.permanent_share,
    safety: float = POLICY_DEFAULTS.safety,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per test: the critical failure count ``c`` (block iff ``failures >= c``; ``k + 1``: cannot
    block, also for informing tests), the p-value ``P(X >= failures)`` and the allotted level
    ``P(X >= c)``, all under the posterior predictive. Depends on the payload only via ``k``.
    """
    ran = ev.runs > 0
    judged = ran & ~ev.informing
    k = ev.runs
    cuts = k + 1
    p_values = np.ones(len(ev))
    level = np.zeros(len(ev))
    idx = np.nonzero(ran)[0]
    if not idx.size:
        return cuts, p_values, level
    spend = budget * (1.0 - safety)
    # Tests with identical (k, history) share every computation and get one cut.
    params = np.stack([k[idx], ev.hist_failures[idx], ev.hist_passes[idx]], axis=1)
    uniq, inverse = _unique_rows(params)
    k_u = uniq[:, 0].astype(np.int64)
    pmf, null_mean = predictive_pmf(prior, k_u, uniq[:, 1], uniq[:, 2])
    tails = upper_tails(pmf)
    weight = np.bincount(inverse, weights=judged[idx], minlength=k_u.size)
    use = np.nonzero(weight > 0)[0]
    cuts_u = k_u + 1
    if use.size:
        power = alternative_tails(k_u[use], null_mean[use], alternatives)
        all_fail = pmf[use, k_u[use]]
        forced = _forced(
            k_u[use],
            all_fail,
            weight[use],
            spend * permanent_share,
            permanent_min_runs,
            permanent_alpha,
        )
        cuts_u[use] = allocate(
            tails[use][:, : power.shape[1]],
            power,
            k_u[use],
            spend,
            forced=forced,
            weights=weight[use],
        )
    cuts = cuts.copy()
    cuts[idx] = cuts_u[inverse]
    p_values[idx] = tails[inverse, ev.failures[idx]]
    level[idx] = tails[inverse, cuts[idx]]
    return cuts, p_values, level


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` for a float matrix, via lexsort."""
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    group = np.cumsum(new) - 1
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[order] = group
    return ordered[new], inverse


def _forced(
    k: np.ndarray,
    all_fail: np.ndarray,
    weight: np.ndarray,
    cap: float,
    min_runs: int,
    alpha: float,
) -> np.ndarray:
    """Rows whose all-fail outcome is reserved a cut: cheapest first, within ``cap`` in total."""
    candidate = (k >= min_runs) & (all_fail <= alpha)
    forced = np.zeros(k.size, dtype=bool)
    order = np.nonzero(candidate)[0]
    order = order[np.argsort(all_fail[order], kind="stable")]
    within = np.cumsum(all_fail[order] * weight[order]) <= cap
    forced[order[within]] = True
    return forced


def _regression(
    ev: EvidenceArrays, i: int, cut: int, p_value: float, level: float, prior: Prior
) -> Regression:
    passes, failures = int(ev.passes[i]), int(ev.failures[i])
    k = passes + failures
    if ev.has_history[i]:
        rate = float(ev.hist_rate[i])
        history = f"baseline pass rate {rate:.1%} over {int(ev.hist_runs[i])} runs"
    else:
        rate = None
        history = f"new test, job prior mean pass rate {1 - prior.mean_failure_rate:.1%}"
    what = f"failed all {k} runs" if passes == 0 and k >= 3 else f"failed {failures} of {k} runs"
    reason = (
        f"{what}; {history}; at most {cut - 1} failures expected "
        f"(p={p_value:.2g} <= allotted {level:.2g})"
    )
    return Regression(
        test=ev.names[i],
        suite=ev.suites[i],
        passes=passes,
        failures=failures,
        baseline_pass_rate=rate,
        allowed_failures=cut - 1,
        p_value=p_value,
        reason=reason,
    )


def _notes(
    ev: EvidenceArrays,
    ran: np.ndarray,
    judged: np.ndarray,
    cuts: np.ndarray,
    k: np.ndarray,
    informing_hits: np.ndarray,
    p_values: np.ndarray,
    tiny_history: int,
    prior: Prior,
) -> tuple[Note, ...]:
    notes: list[Note] = []

    def add(mask: np.ndarray, kind: NoteKind, detail: Callable[[int], str]) -> None:
        notes.extend(
            Note(ev.names[i], ev.suites[i], kind, detail(int(i))) for i in np.nonzero(mask)[0]
        )

    add(
        ~ran,
        NoteKind.DID_NOT_RUN,
        lambda i: f"no pass or failure in any counted run ({ev.skips[i]} skipped)",
    )
    add(
        ran & ~ev.has_history,
        NoteKind.NEW_TEST,
        lambda i: f"no baseline: judged on the job prior, {prior.describe()}",
    )
    add(
        ran & ev.has_history & (ev.hist_runs < tiny_history),
        NoteKind.TINY_HISTORY,
        lambda i: f"baseline from only {ev.hist_runs[i]} runs: the job prior dominates",
    )
    add(
        judged & (cuts > k),
        NoteKind.UNBLOCKABLE,
        lambda i: f"{k[i]} runs cannot show a regression within the budget",
    )
    add(
        informing_hits,
        NoteKind.INFORMING,
        lambda i: (
            f"informing test would have blocked: failed {ev.failures[i]} of {k[i]} runs "
            f"(p={p_values[i]:.2g})"
        ),
    )
    return tuple(notes)
