"""The allowance of one key in one variant, against the newest stored baseline version."""

from __future__ import annotations

from dataclasses import dataclass

from api.disruption.matcher import Match
from api.disruption.model import BaselineRow, MeasurementKey, Variant
from api.disruption.single_run import allowed_for
from api.services.disruption_inputs import BASELINE_INDEXES
from api.store import Store


@dataclass(frozen=True, slots=True)
class Allowed:
    key: MeasurementKey
    variant: Variant
    row: BaselineRow | None
    step: str
    reason: str
    allowed_seconds: float | None


def allowed(store: Store, key: MeasurementKey, variant: Variant) -> Allowed:
    """The matcher reads the version's index from the process-wide cache: one cheap query
    (the newest version's number) per call once the version was read."""
    match: Match
    match, seconds = allowed_for(BASELINE_INDEXES.get(store, key.kind), key, variant)
    return Allowed(key, variant, match.row, match.step, match.reason, seconds)
