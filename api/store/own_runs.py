"""Removing a payload's own runs from a baseline's history (both backends share this rule).

A baseline version may have counted runs of the payload being judged (it was computed after
those runs arrived, without ``exclude_payload``). The store knows which runs a version counted,
so the verdict's evidence read tallies the payload's runs that are members of the version and
subtracts them here: the payload is then judged against other payloads only, whenever and
however the version was computed (SPEC section 5, fail-safe rules).

The subtraction uses the runs' current results; a run whose tests were replaced after the
version was computed may not subtract exactly what was counted, which the clamp at 0 bounds.
"""

from __future__ import annotations

import numpy as np


def without_own_runs(history: np.ndarray, own: np.ndarray) -> np.ndarray:
    """``history`` (``(n, 6)``: runs, passes, failures, flakes, pass_rate, latched) minus
    ``own`` (``(n, 3)``: passes, failures, flakes of the payload's runs the version counted).

    Counts are clamped at 0 and the pass rate recomputed from what remains; a latched rate is
    kept when it is higher (latching never loosens). A row left with no runs becomes all zeros:
    the test has no history.
    """
    if not own.any():
        return history
    out = history.copy()
    counts = np.maximum(history[:, 1:4] - own, 0.0)
    runs = counts.sum(axis=1)
    has = runs > 0
    rate = np.divide(counts[:, 0] + counts[:, 2], runs, out=np.zeros_like(runs), where=has)
    latched = history[:, 5] > 0
    touched = own.any(axis=1)
    out[touched, 0] = runs[touched]
    out[touched, 1:4] = counts[touched]
    out[touched, 4] = np.where(latched, np.maximum(history[:, 4], rate), rate)[touched]
    out[touched & ~has] = 0.0
    return out
