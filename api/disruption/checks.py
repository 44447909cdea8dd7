"""What every disruption judge answers: a status, why, and the runs with their seconds.

Shared by the single-run rule (:mod:`api.disruption.single_run`) and the payload policies
(:mod:`api.disruption.aggregator`, :mod:`api.disruption.bayes`), so the verdict renders one shape.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from api.disruption.model import MeasurementKey, RunMeasurements


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


@dataclass(frozen=True, slots=True)
class PayloadResult:
    """One policy's judgement of one job's runs in a payload: every check of every key."""

    policy: str
    checks: tuple[PayloadCheck, ...]

    @property
    def status(self) -> CheckStatus:
        """``fail`` if any check failed, ``pass`` if any passed, else ``skipped``."""
        statuses = {check.status for check in self.checks}
        if CheckStatus.FAIL in statuses:
            return CheckStatus.FAIL
        return CheckStatus.PASS if CheckStatus.PASS in statuses else CheckStatus.SKIPPED

    @property
    def failed(self) -> tuple[PayloadCheck, ...]:
        return tuple(c for c in self.checks if c.status is CheckStatus.FAIL)


def payload_seconds(runs: Sequence[RunMeasurements], keys: Iterable[MeasurementKey]
                    ) -> dict[MeasurementKey, tuple[tuple[str, int], ...]]:
    """``(run_id, seconds)`` per key of every run that measured anything of the key's kind: a
    run that measured other keys of the kind but not this one counts 0 (SPEC §9 "Zeros
    matter"); a run with no file of the kind is no evidence."""
    kinds = [{k.kind for k in run.seconds} for run in runs]
    return {key: tuple((run.run_id, run.seconds.get(key, 0))
                       for run, has in zip(runs, kinds, strict=True) if key.kind in has)
            for key in keys}
