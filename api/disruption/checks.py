"""What every disruption judge answers: a status, why, and the runs with their seconds.

Shared by the single-run rule (:mod:`api.disruption.single_run`) and the payload policies
(:mod:`api.disruption.aggregator`, :mod:`api.disruption.bayes`), so the verdict renders one shape.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from api.disruption.model import MeasurementKey


class CheckStatus(enum.StrEnum):
    PASS = "pass"
    FLAKE = "flake"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class RunSeconds:
    """One run's seconds for a key, and whether the check counted it as passing."""

    run_id: str
    seconds: int
    passed: bool


@dataclass(frozen=True, slots=True)
class PayloadCheck:
    """One payload-level check of one key (e.g. ``"P70 should not be worse"``)."""

    key: MeasurementKey
    check: str
    status: CheckStatus
    reason: str
    runs: tuple[RunSeconds, ...] = ()
    threshold: float | None = None
    """The seconds a run (or the mean, for ``mean + 5 stddev``) was compared against."""
