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


class KeyRuns:
    """One key's payload runs, each run's :class:`RunSeconds` built once as passing and once
    as failing: a key's checks (two to four per policy) each mark the same runs against their
    own threshold, and a frozen object per run per check was a fifth of the policies' time."""

    __slots__ = ("_failing", "_passing", "seconds")

    def __init__(self, observed: Sequence[tuple[str, int]]) -> None:
        self.seconds = [s for _, s in observed]
        self._passing = [RunSeconds(r, s, True) for r, s in observed]
        self._failing = [RunSeconds(r, s, False) for r, s in observed]

    def __len__(self) -> int:
        return len(self.seconds)

    def passing(self) -> tuple[RunSeconds, ...]:
        return tuple(self._passing)

    def at_most(self, threshold: float) -> tuple[RunSeconds, ...]:
        """Runs passing when their seconds are at most ``threshold``."""
        return tuple([p if s <= threshold else f
                      for s, p, f in zip(self.seconds, self._passing, self._failing, strict=True)])

    def below(self, level: float) -> tuple[RunSeconds, ...]:
        """Runs passing when their seconds are under ``level``."""
        return tuple([p if s < level else f
                      for s, p, f in zip(self.seconds, self._passing, self._failing, strict=True)])


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
    """``(run_id, seconds)`` per key of every run that measured anything: a key the run did
    not name counts 0 (SPEC §9 "Zeros matter"). Any measured key makes a run evidence for
    both kinds, because an alerts file names only the alerts that fired: a clean run's is
    empty, and its alerts are zeros, not missing. A run that measured nothing is no evidence.
    """
    measured = [(run.run_id, run.seconds) for run in runs if run.seconds]
    return {key: tuple([(run_id, seconds.get(key, 0)) for run_id, seconds in measured])
            for key in keys}


def payload_key_runs(runs: Sequence[RunMeasurements], keys: Iterable[MeasurementKey]
                     ) -> dict[MeasurementKey, KeyRuns]:
    """:func:`payload_seconds` as :class:`KeyRuns`, for the policies."""
    return {key: KeyRuns(seconds) for key, seconds in payload_seconds(runs, keys).items()}


def judged_runs(runs: Sequence[RunMeasurements], history: Iterable[MeasurementKey]
                ) -> dict[MeasurementKey, KeyRuns]:
    """Every key a payload policy judges (in the history or in any run), sorted, with its
    payload runs: built once per verdict and handed to both policies."""
    return payload_key_runs(runs, sorted(set(history) | {k for run in runs for k in run.seconds}))
