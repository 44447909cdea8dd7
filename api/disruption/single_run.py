"""The single-run rule (SPEC §9): each run's seconds against the best-matching baseline row.

Disruption (origin's ``allowedbackenddisruption``): ``allowed = max(P99, floor)`` plus a grace,
``max(allowed + 5 s, allowed x 1.2)`` (single-node topology: ``+10 s`` / ``x 1.4``; dual:
``+60 s`` / ``x 1.4``: those topologies are noisier); the run fails when its rounded seconds
exceed it. Alerts (origin's ``allowedalerts``): fail above P99, flake above P95, no grace.
No matching row: skipped, never failed, with the matcher's reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from api.disruption.checks import CheckStatus
from api.disruption.matcher import Index, Match, best_match, match
from api.disruption.model import MeasurementKey, MeasurementKind, RunMeasurements, Variant

FLOOR_SECONDS = 1.0
GRACE: Mapping[str, tuple[float, float]] = {
    "single": (10.0, 1.4),
    "dual": (60.0, 1.4),
}
"""Topology -> (seconds added, factor); any other topology gets :data:`DEFAULT_GRACE`."""
DEFAULT_GRACE = (5.0, 1.2)


def allowed_seconds(p99: float, topology: str, *, floor: float = FLOOR_SECONDS,
                    grace: Mapping[str, tuple[float, float]] = GRACE,
                    default_grace: tuple[float, float] = DEFAULT_GRACE) -> float:
    """The most disruption a run of ``topology`` may show against a row with this P99."""
    base = max(p99, floor)
    add, factor = grace.get(topology, default_grace)
    return max(base + add, base * factor)


@dataclass(frozen=True, slots=True)
class RunCheck:
    run_id: str
    key: MeasurementKey
    seconds: int
    status: CheckStatus
    reason: str
    match: Match
    allowed: float | None
    """Disruption: the graced allowance; alerts: the P99; ``None`` when skipped."""


def judge_seconds(run_id: str, key: MeasurementKey, seconds: int, match: Match,
                  topology: str) -> RunCheck:
    row = match.row
    if row is None:
        return RunCheck(run_id, key, seconds, CheckStatus.SKIPPED, match.reason, match, None)
    if key.kind is MeasurementKind.ALERTS:
        status = (CheckStatus.FAIL if seconds > row.p99
                  else CheckStatus.FLAKE if seconds > row.p95 else CheckStatus.PASS)
        word = {CheckStatus.FAIL: "above P99", CheckStatus.FLAKE: "above P95"}.get(
            status, "within P95")
        reason = (f"fired {seconds}s: {word} (P95 {row.p95:g}s, P99 {row.p99:g}s); "
                  f"{match.reason}")
        return RunCheck(run_id, key, seconds, status, reason, match, row.p99)
    allowed = allowed_seconds(row.p99, topology)
    status = CheckStatus.FAIL if seconds > allowed else CheckStatus.PASS
    word = "more than" if status is CheckStatus.FAIL else "within"
    reason = (f"disrupted {seconds}s, {word} the allowed {allowed:g}s (P99 {row.p99:g}s "
              f"with grace); {match.reason}")
    return RunCheck(run_id, key, seconds, status, reason, match, allowed)


def judge_run(index: Index, run: RunMeasurements,
              keys: Iterable[MeasurementKey] = ()) -> tuple[RunCheck, ...]:
    """Checks for every key the run measured, plus ``keys`` it did not (as 0 s), sorted."""
    seconds = dict.fromkeys(keys, 0)
    seconds.update(run.seconds)
    return tuple(judge_seconds(run.run_id, key, seconds[key],
                               best_match(index, key, run.variant), run.variant.topology)
                 for key in sorted(seconds))


def allowed_for(index: Index, key: MeasurementKey, variant: Variant) -> tuple[Match,
                                                                                float | None]:
    """The row used for ``key`` in ``variant`` and its allowance (``GET /disruption/allowed``)."""
    match = best_match(index, key, variant)
    if match.row is None:
        return match, None
    if key.kind is MeasurementKind.ALERTS:
        return match, match.row.p99
    return match, allowed_seconds(match.row.p99, variant.topology)


def unusual(index: Index, runs: Iterable[RunMeasurements], kind: MeasurementKind | None = None
            ) -> tuple[int, tuple[RunCheck, ...]]:
    """``(checks made, the failing and flaking ones)`` over every measured key of ``runs`` (of
    ``kind`` only, when given): the verdict lists only those, so a passing check costs a
    comparison, not an object; the matcher runs once per key and variant (:func:`match`)."""
    limits_of: dict[Variant, dict[MeasurementKey, float | None]] = {}
    checked = 0
    out = []
    for run in runs:
        variant = run.variant
        limits = limits_of.get(variant)
        if limits is None:
            limits = limits_of[variant] = {}
        for key, seconds in run.seconds.items():
            if kind is not None and key.kind is not kind:
                continue
            checked += 1
            if key in limits:
                limit = limits[key]
            else:
                row = match(index, key, variant).row
                # alerts flake above P95; disruption fails above the graced allowance
                limit = limits[key] = None if row is None else (
                    row.p95 if key.kind is MeasurementKind.ALERTS
                    else allowed_seconds(row.p99, variant.topology))
            if limit is not None and seconds > limit:
                out.append(judge_seconds(run.run_id, key, seconds, match(index, key, variant),
                                         variant.topology))
    return checked, tuple(sorted(out, key=lambda c: (c.run_id, c.key)))
