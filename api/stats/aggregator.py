"""The ``aggregator`` policy: OpenShift's job-run-aggregator pass/fail rules, reproduced.

Facts (ci-tools ``pkg/jobrunaggregator/jobrunaggregatoranalyzer/pass_fail.go``; SPEC section 5),
applied per test in this order:

1. an **informing** test never blocks (a would-be failure becomes an ``informing`` note);
2. no passes and no failures: passes, "did not run";
3. no passes and more skips than failures: passes, "probably intended to skip";
4. fewer than ``min_attempts`` (6) attempts fails every test that ran;
5. no pass at all fails ("we require at least one pass"; knob ``require_one_pass``: the
   aggregator has this rule although SPEC does not list it);
6. ``strict = table[attempts][int(historical pass %)]`` (unknown history: 70%); pity factor
   ``required = min(max(0, attempts - 2), strict)``; fail if ``passes < required``.

Counting: ``attempts`` = runs in which the test passed, flaked or failed; a flake inside one run
counts as a pass (and as one attempt). The historical percentage is ``int()`` of the baseline
pass rate x 100 (truncation, as the aggregator does; a 1e-9 guard keeps binary fractions such as
0.29 * 100 = 28.999... at 29), the latched rate when latched. Evidence with no baseline (or a
baseline of zero runs) is "unknown history" (noted ``new_test``).

The table (``required_passes.json``, a copy of the aggregator's, attempts 0..12) was generated
by a one-sided Fisher exact test at alpha 0.05 against a corpus of 250 runs: with
``cp = round(250 * pct / 100)`` historical passes, ``p(x) = P(corpus passes >= cp)`` for the
2x2 table ``[[cp, x], [250 - cp, attempts - x]]``, and ``strict = max(0, x0 - 1)`` where ``x0``
is the smallest pass count with ``p(x0) > 0.05``. :func:`fisher_required_row` computes that
rule; it reproduces rows 0 and 3..12 exactly. Rows 1 and 2 were hand-tuned upstream (they equal
``min(1, x0)``); they only matter with ``min_attempts`` below 3. **Above 12 attempts** the same
Fisher rule is computed (cached per attempts), so behaviour continues smoothly.

``p_value`` of a regression is that one-sided Fisher p of its observed pass count;
``allowed_failures = attempts - required`` (0 for the minimum-attempts and one-pass rules).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

import numpy as np
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

NAME = "aggregator"
CORPUS = 250
ALPHA = 0.05
TABLE_MAX_ATTEMPTS = 12


def fisher_p_values(attempts: int, pct: int, corpus: int = CORPUS) -> np.ndarray:
    """One-sided Fisher p for every pass count ``x = 0 .. attempts`` against ``pct``% history.

    Equals ``scipy.stats.fisher_exact([[cp, x], [corpus - cp, attempts - x]],
    alternative="greater")`` with ``cp = round(corpus * pct / 100)`` (Python's rounding).
    """
    cp = round(corpus * pct / 100)
    x = np.arange(attempts + 1)
    # P(A >= cp), A ~ Hypergeom(M = corpus + attempts, n = cp + x successes, N = corpus draws)
    return np.minimum(stats.hypergeom.sf(cp - 1, corpus + attempts, cp + x, corpus), 1.0)


def fisher_p_value_array(
    attempts: np.ndarray, passes: np.ndarray, pct: np.ndarray, corpus: int = CORPUS
) -> np.ndarray:
    """Vectorised ``fisher_p_values(attempts, pct)[passes]``."""
    cp = np.round(corpus * np.asarray(pct, dtype=np.float64) / 100.0)  # half to even, as round()
    attempts = np.asarray(attempts, dtype=np.int64)
    return np.minimum(stats.hypergeom.sf(cp - 1, corpus + attempts, cp + passes, corpus), 1.0)


def first_insignificant(attempts: int, pct: int, corpus: int = CORPUS, alpha: float = ALPHA) -> int:
    """The smallest pass count ``x0`` whose one-sided Fisher p exceeds ``alpha``."""
    above = np.nonzero(fisher_p_values(attempts, pct, corpus) > alpha)[0]
    return int(above[0]) if above.size else attempts  # x = attempts always has p = 1


def fisher_required_row(attempts: int, corpus: int = CORPUS, alpha: float = ALPHA) -> list[int]:
    """Strict required passes for ``pct = 0 .. 100`` by the table's generating rule."""
    return [max(0, first_insignificant(attempts, pct, corpus, alpha) - 1) for pct in range(101)]


def _rebuilt_table() -> list[list[int]]:
    """The table from the rule alone (rows 1-2 with upstream's hand-tuning ``min(1, x0)``)."""
    rows = [fisher_required_row(n) for n in range(TABLE_MAX_ATTEMPTS + 1)]
    for n in (1, 2):
        rows[n] = [min(1, first_insignificant(n, pct)) for pct in range(101)]
    return rows


@lru_cache(maxsize=1)
def _table() -> np.ndarray:
    try:
        text = resources.files("api.stats").joinpath("required_passes.json").read_text("utf-8")
        data = json.loads(text)["table"]
        rows = [[int(v) for v in data[str(n)]] for n in range(TABLE_MAX_ATTEMPTS + 1)]
    except (OSError, KeyError, ValueError):  # package data missing: the rule rebuilds it
        rows = _rebuilt_table()
    table = np.array(rows, dtype=np.int64)
    table.setflags(write=False)
    return table


@lru_cache(maxsize=256)
def _computed_row(attempts: int) -> np.ndarray:
    row = np.array(fisher_required_row(attempts), dtype=np.int64)
    row.setflags(write=False)
    return row


def required_passes(attempts: int, pct: int) -> int:
    """Strict required passes (before the pity factor): the table, or the Fisher rule >12."""
    pct = min(100, max(0, int(pct)))
    if attempts <= TABLE_MAX_ATTEMPTS:
        return int(_table()[max(0, attempts), pct])
    return int(_computed_row(attempts)[pct])


def required_passes_array(attempts: np.ndarray, pct: np.ndarray) -> np.ndarray:
    """Vectorised :func:`required_passes`."""
    attempts = np.maximum(np.asarray(attempts, dtype=np.int64), 0)
    pct = np.clip(np.asarray(pct, dtype=np.int64), 0, 100)
    out = _table()[np.minimum(attempts, TABLE_MAX_ATTEMPTS), pct]
    for n in np.unique(attempts[attempts > TABLE_MAX_ATTEMPTS]):
        mask = attempts == n
        out[mask] = _computed_row(int(n))[pct[mask]]
    return out


def pity(attempts: int, strict: int,
         failures_pitied: int = POLICY_DEFAULTS.failures_pitied) -> int:
    """The aggregator's pity factor: ``min(max(0, attempts - 2), strict)``."""
    return min(max(0, attempts - failures_pitied), strict)


def evaluate(
    evidence: Iterable[TestTally] | EvidenceArrays,
    baselines: Mapping[TestKey, TestBaseline] | Iterable[TestBaseline] | None,
    prior: Prior | None = None,
    *,
    informing: Informing | None = None,
    min_attempts: int = POLICY_DEFAULTS.min_attempts,
    unknown_history_percent: int = POLICY_DEFAULTS.unknown_history_percent,
    require_one_pass: bool = POLICY_DEFAULTS.require_one_pass,
    failures_pitied: int = POLICY_DEFAULTS.failures_pitied,
) -> PolicyResult:
    """Judge one job of a payload by the aggregator's rules (``prior`` is ignored)."""
    ev = as_evidence(evidence, baselines, informing)
    passes, failures, skips = ev.passes, ev.failures, ev.skips
    attempts = passes + failures
    did_not_run = attempts == 0
    intended_skip = ~did_not_run & (passes == 0) & (skips > failures)
    ran = ~did_not_run & ~intended_skip
    rates = np.where(ev.has_history, ev.hist_rate, 0.0)
    pct = np.where(
        ev.has_history,
        np.clip(np.floor(rates * 100.0 + 1e-9), 0, 100).astype(np.int64),
        unknown_history_percent,
    )
    strict = required_passes_array(attempts, pct)
    required = np.minimum(np.maximum(0, attempts - failures_pitied), strict)
    too_few = ran & (attempts < min_attempts)
    no_pass = ran & ~too_few & (passes < 1) & require_one_pass
    short = ran & ~too_few & ~no_pass & (passes < required)
    failing = too_few | no_pass | short

    notes: list[Note] = []
    for i in np.nonzero(did_not_run)[0]:
        notes.append(Note(ev.names[i], ev.suites[i], NoteKind.DID_NOT_RUN, "did not run"))
    for i in np.nonzero(intended_skip)[0]:
        notes.append(
            Note(
                ev.names[i],
                ev.suites[i],
                NoteKind.INTENDED_SKIP,
                f"probably intended to skip: skipped {int(skips[i])} times, "
                f"failed {int(failures[i])} times",
            )
        )
    for i in np.nonzero(ran & ~ev.has_history)[0]:
        notes.append(
            Note(
                ev.names[i],
                ev.suites[i],
                NoteKind.NEW_TEST,
                f"no history: assuming {unknown_history_percent}%",
            )
        )

    regressions: list[Regression] = []
    failing_idx = np.nonzero(failing)[0]
    p_values = fisher_p_value_array(attempts[failing_idx], passes[failing_idx], pct[failing_idx])
    for i, p_value in zip(failing_idx, p_values, strict=True):
        n_pass, n_fail, n_try = int(passes[i]), int(failures[i]), int(attempts[i])
        counted = f"passed {n_pass} times"
        if ev.flakes[i]:
            counted += f" ({int(ev.flakes[i])} flaked)"
        counted += f", failed {n_fail} times, skipped {int(skips[i])} times"
        need = 0
        if too_few[i]:
            reason = f"{counted}: we require at least {min_attempts} attempts"
        elif no_pass[i]:
            reason = f"{counted}: we require at least one pass"
        else:
            need = int(required[i])
            reason = f"{counted}: historical pass rate {int(pct[i])}%, required passes {need}"
            if need < strict[i]:
                reason += f" (strict {int(strict[i])}, pity factor)"
        record_finding(
            Regression(
                test=ev.names[i],
                suite=ev.suites[i],
                passes=n_pass,
                failures=n_fail,
                baseline_pass_rate=float(rates[i]) if ev.has_history[i] else None,
                allowed_failures=n_try - need if need else 0,
                p_value=float(p_value),
                reason=reason,
            ),
            bool(ev.informing[i]),
            regressions,
            notes,
        )
    return PolicyResult(
        policy=NAME,
        verdict=Verdict.FAIL if regressions else Verdict.PASS,
        tests_checked=int((ran & ~ev.informing).sum()),
        regressions=tuple(regressions),
        notes=tuple(notes),
        absent=ev.absent,
    )
