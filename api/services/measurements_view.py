"""What a run shows of its measurements (``GET /jobs/{job}/runs/{run_id}``, SPEC §9)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from api.disruption.model import MeasurementKind, RunMeasurements
from api.store import Store


def measurements_fields(found: RunMeasurements | None) -> dict[str, Any]:
    """``disruption`` (seconds per backend), ``alerts`` (name, namespace, level, seconds;
    sorted) and ``measurement_variant`` (the run's variant; ``None`` without measurements)."""
    if found is None:
        return {"disruption": {}, "alerts": [], "measurement_variant": None}
    items = sorted(found.seconds.items())
    return {
        "disruption": {k.name: s for k, s in items if k.kind is MeasurementKind.DISRUPTIONS},
        "alerts": [{"name": k.name, "namespace": k.namespace, "level": k.level, "seconds": s}
                   for k, s in items if k.kind is MeasurementKind.ALERTS],
        "measurement_variant": asdict(found.variant),
    }


def run_view(store: Store, job: str, run_id: str) -> dict[str, Any]:
    return measurements_fields(store.disruption.run_measurements(job, [run_id]).get(run_id))
