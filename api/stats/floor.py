"""The fail-safe floor every policy keeps: a test without history that failed every one of at
least :data:`FLOOR_RUNS` (3) counted runs blocks, whatever the policy and its knobs.

Why one place: with no baseline (and so no fitted prior) the policies disagree about a test
that only ever fails.

* ``aggregator`` assumes 70% ("unknown history") and fails it (too few attempts, no pass, or
  fewer passes than the table's required count);
* ``bayes`` judges it on the default prior, which blocks 3 of 3 failures only when the budget
  allows a cut there (a tiny ``false_block_budget`` or many tests can leave it unblockable);
* ``stddev`` without a prior does not judge it at all ("no baseline and no prior: not judged").

A gate with no baseline would then silently pass a payload whose tests fail every run. The
floor is the aggregator's unknown-history rule reduced to its unarguable core (no pass in
at least 3 attempts), applied after the policy by :func:`api.stats.policies.evaluate`, so no
policy or knob can go below it. Informing tests still never block (they get a note), and a
test the policy already blocks is not reported twice.
"""

from __future__ import annotations

import numpy as np

from api.stats.evidence import EvidenceArrays
from api.stats.types import Note, NoteKind, PolicyResult, Regression, Verdict, record_finding

FLOOR_RUNS = 3
"""Not a job setting on purpose: the floor is what no setting can lower."""


def floor_mask(ev: EvidenceArrays, floor_runs: int = FLOOR_RUNS) -> np.ndarray:
    """The tests the floor blocks: no history, no pass (a flake is a pass), and failures in
    at least ``floor_runs`` counted runs with no more skips than failures."""
    return (~ev.has_history & (ev.passes == 0) & (ev.failures >= floor_runs)
            & (ev.skips <= ev.failures))


def apply_floor(result: PolicyResult, ev: EvidenceArrays,
                floor_runs: int = FLOOR_RUNS) -> PolicyResult:
    """``result`` with the floor's regressions (or informing notes) added where missing."""
    hits = np.nonzero(floor_mask(ev, floor_runs))[0]
    if not hits.size:
        return result
    blocked = {(r.suite, r.test) for r in result.regressions}
    noted = {(n.suite, n.test) for n in result.notes if n.kind is NoteKind.INFORMING}
    regressions = list(result.regressions)
    notes: list[Note] = list(result.notes)
    for i in hits:
        key = (ev.suites[i], ev.names[i])
        if key in blocked or key in noted:
            continue
        failures = int(ev.failures[i])
        record_finding(
            Regression(
                test=ev.names[i], suite=ev.suites[i], passes=0, failures=failures,
                baseline_pass_rate=None, allowed_failures=0, p_value=0.0,
                reason=f"failed all {failures} counted runs with no history: a test that "
                       f"fails every one of at least {floor_runs} runs blocks under every "
                       "policy (fail-safe floor)"),
            bool(ev.informing[i]), regressions, notes)
    if len(regressions) == len(result.regressions) and len(notes) == len(result.notes):
        return result
    return PolicyResult(policy=result.policy,
                        verdict=Verdict.FAIL if regressions else result.verdict,
                        tests_checked=result.tests_checked, regressions=tuple(regressions),
                        notes=tuple(notes), absent=result.absent, budget=result.budget)
