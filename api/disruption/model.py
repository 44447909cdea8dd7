"""The vocabulary of disruption and alert measurements (SPEC §9), shared by every layer.

The artifact parser produces :class:`RunMeasurements`, the store keeps and returns them, the
baseline computation turns many of them into :class:`BaselineRow` s, and the matcher, the
single-run rule and the payload policies read both. Frozen dataclasses and enums only: no I/O.

A *key* is what is measured (a backend, or an alert by name, namespace and level); a *variant*
is where (release, upgrade source, platform, ...). Seconds are whole numbers per run, because
origin rounds each file's durations up and sums a run's files.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class MeasurementKind(enum.StrEnum):
    DISRUPTIONS = "disruptions"
    ALERTS = "alerts"


@dataclass(frozen=True, slots=True, order=True)
class MeasurementKey:
    """What was measured: a backend (``namespace`` and ``level`` empty) or an alert.

    ``level`` is normalised to origin's casing (``Warning``, ``Critical``, ``Info``) so that
    producers writing ``warning`` and ``Warning`` meet in one key.
    """

    kind: MeasurementKind
    name: str
    namespace: str = ""
    level: str = ""


@dataclass(frozen=True, slots=True, order=True)
class Variant:
    """Where a run ran, in origin's terms. ``from_release`` is "" when the run is no upgrade.

    ``master_nodes_updated`` ("Y", "N" or "") is carried, and filtered on by the baselines, but
    it is not part of the matcher's key (:meth:`match_key`).
    """

    release: str = ""
    from_release: str = ""
    platform: str = ""
    architecture: str = ""
    network: str = ""
    topology: str = ""
    master_nodes_updated: str = ""

    def match_key(self) -> tuple[str, str, str, str, str, str]:
        return (self.release, self.from_release, self.platform, self.architecture,
                self.network, self.topology)


@dataclass(frozen=True, slots=True)
class RunMeasurements:
    """One run's measured seconds per key, after rounding up per file and summing per run.

    ``seconds`` holds only the keys the run's files named; a key known for the run's release but
    absent here counts as 0 (callers that need the zeros add them: see SPEC §9 "Zeros matter").
    """

    job: str
    run_id: str
    variant: Variant
    seconds: Mapping[MeasurementKey, int] = field(default_factory=dict)
    payload: str | None = None
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class BaselineRow:
    """One row of a baseline version: a key's distribution in one variant.

    The percentiles are continuous (linear interpolation, as BigQuery's ``PERCENTILE_CONT``).
    ``mean`` and ``stddev`` (sample standard deviation) are flakegate's additions to origin's
    columns; rows read from an origin file have them as ``None``, as they have ``p50`` and
    ``p75`` as ``None`` in origin's older layout.
    """

    key: MeasurementKey
    variant: Variant
    job_runs: int
    p95: float
    p99: float
    p50: float | None = None
    p75: float | None = None
    mean: float | None = None
    stddev: float | None = None
    first_observed: datetime | None = None
    last_observed: datetime | None = None
