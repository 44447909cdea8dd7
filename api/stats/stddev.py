"""The ``stddev`` policy: the seed's literal rule, simple to explain, strict near ``p = 1``.

For a test with baseline pass rate ``p`` (flakes count as passes; the latched rate when latched)
that ran in ``k`` counted runs of the payload::

    allowed = k * (1 - p) + z * sqrt(k * p * (1 - p))        (z = 1 by default)
    fail  if  failures > allowed

``allowed_failures`` reports ``floor(allowed)`` (the largest failure count that passes; a
``1e-9`` guard absorbs binary rounding such as ``10 * 0.1 = 0.9999...``). ``p_value`` is the
binomial tail ``P(X >= failures | k, 1 - p)``. With ``p = 1`` nothing may fail, which is why
this rule blocks often on large suites.

A test without history (new, or a baseline with no runs) uses the job prior's mean pass rate
when a prior is given (noted ``new_test``); without a prior it is noted and cannot block. Tests
that did not run are noted and never block; informing tests never block (a would-be failure
becomes a note); baselines under ``tiny_history`` runs are noted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt
from scipy import stats

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
    record_finding,
)

NAME = "stddev"


def allowed_failures(k: npt.ArrayLike, pass_rate: npt.ArrayLike,
                     z: float = POLICY_DEFAULTS.z) -> np.ndarray:
    """``k (1 - p) + z sqrt(k p (1 - p))`` (a float bound; fail when failures exceed it)."""
    k = np.asarray(k, dtype=np.float64)
    p = np.clip(np.asarray(pass_rate, dtype=np.float64), 0.0, 1.0)
    return k * (1.0 - p) + z * np.sqrt(k * p * (1.0 - p))


def evaluate(
    evidence: Iterable[TestTally] | EvidenceArrays,
    baselines: Mapping[TestKey, TestBaseline] | Iterable[TestBaseline] | None,
    prior: Prior | None = None,
    *,
    informing: Informing | None = None,
    z: float = POLICY_DEFAULTS.z,
    tiny_history: int = POLICY_DEFAULTS.tiny_history,
) -> PolicyResult:
    """Judge one job of a payload by the literal mean + z standard deviations rule."""
    ev = as_evidence(evidence, baselines, informing)
    k = ev.runs
    ran = k > 0
    new_rate = np.nan if prior is None else 1.0 - prior.mean_failure_rate
    p = np.where(ev.has_history, ev.hist_rate, new_rate)
    judgeable = ran & ~np.isnan(p)
    p_safe = np.where(judgeable, p, 1.0)
    bound = allowed_failures(k, p_safe, z)
    failing = judgeable & (ev.failures > bound + 1e-9)
    blocking = failing & ~ev.informing

    notes: list[Note] = []
    for i in np.nonzero(~ran)[0]:
        detail = f"no pass or failure in any counted run ({int(ev.skips[i])} skipped)"
        notes.append(Note(ev.names[i], ev.suites[i], NoteKind.DID_NOT_RUN, detail))
    for i in np.nonzero(ran & ~ev.has_history)[0]:
        detail = (
            f"no baseline: using the job prior mean pass rate {new_rate:.2%}"
            if prior is not None
            else "no baseline and no prior: not judged"
        )
        notes.append(Note(ev.names[i], ev.suites[i], NoteKind.NEW_TEST, detail))
    for i in np.nonzero(ran & ev.has_history & (ev.hist_runs < tiny_history))[0]:
        notes.append(
            Note(
                ev.names[i],
                ev.suites[i],
                NoteKind.TINY_HISTORY,
                f"baseline from only {int(ev.hist_runs[i])} runs",
            )
        )

    regressions: list[Regression] = []
    idx = np.nonzero(failing)[0]
    # sf is typed ``float | ndarray``; array arguments give an array (asarray is then a no-op).
    p_values = np.asarray(stats.binom.sf(ev.failures[idx] - 1, k[idx], 1.0 - p_safe[idx]))
    for i, p_value in zip(idx, p_values, strict=True):
        fails, runs = int(ev.failures[i]), int(k[i])
        reason = (
            f"failed {fails} of {runs} runs; pass rate {p_safe[i]:.1%}: allowed "
            f"{runs}*(1-p) + {z:g}*sqrt({runs}*p*(1-p)) = {bound[i]:.2f} failures"
        )
        record_finding(
            Regression(
                test=ev.names[i],
                suite=ev.suites[i],
                passes=int(ev.passes[i]),
                failures=fails,
                baseline_pass_rate=float(ev.hist_rate[i]) if ev.has_history[i] else None,
                allowed_failures=int(np.floor(bound[i] + 1e-9)),
                p_value=float(p_value),
                reason=reason,
            ),
            not blocking[i],
            regressions,
            notes,
        )
    return PolicyResult(
        policy=NAME,
        verdict=Verdict.FAIL if regressions else Verdict.PASS,
        tests_checked=int((judgeable & ~ev.informing).sum()),
        regressions=tuple(regressions),
        notes=tuple(notes),
        absent=ev.absent,
    )
