"""Disruption and alert baseline versions (SPEC §9): computing, listing, origin's form.

A version is computed from every evidence run of the kind in the window (all jobs), by
:func:`api.disruption.percentiles.compute_rows`, and stored whole. Who asked and why is kept on
the version itself (``actor``, ``note``, ``created_at``; append-only, like every baseline
version): a kind's baselines belong to no one job, so there is no job audit log to write to.
A refresh whose rows equal the newest version's writes nothing, so the schedule never mints
versions of an unchanged window.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.disruption import origin
from api.disruption.model import MeasurementKind
from api.disruption.percentiles import compute_rows
from api.domain import Page
from api.store import NotFound, Store
from api.store.disruption import BaselineFilter, DisruptionBaselineVersion

log = logging.getLogger(__name__)
DEFAULT_WINDOW_DAYS = 30  # origin's current generator (the documented query used 21)


@dataclass(frozen=True, slots=True)
class Refreshed:
    kind: MeasurementKind
    version: DisruptionBaselineVersion | None  # the newest version after the refresh
    written: bool


def compute(store: Store, kind: MeasurementKind, *, window_days: int = DEFAULT_WINDOW_DAYS,
            actor: str, note: str = "", now: datetime | None = None,
            only_if_changed: bool = False) -> Refreshed:
    """Compute the kind's baselines over the window ending ``now`` and store them as the next
    version (unless ``only_if_changed`` and they equal the newest version's rows)."""
    now = now or datetime.now(UTC)
    columns = store.disruption.measurement_columns(kind, now - timedelta(days=window_days), now)
    rows = compute_rows(columns)
    newest = store.disruption.baseline_version(kind)
    if only_if_changed and (rows == [] if newest is None else
                            store.disruption.all_baseline_rows(kind, newest.version) == rows):
        return Refreshed(kind, newest, False)
    number = store.disruption.put_baseline_version(kind, rows, window_days=window_days,
                                                   created=now, actor=actor, note=note)
    log.info("disruption baselines: %s version %d (%d rows from %d runs) by %s",
             kind.value, number, len(rows), columns.runs, actor)
    return Refreshed(kind, store.disruption.baseline_version(kind, number), True)


def refresh_all(store: Store, *, actor: str = "schedule") -> list[Refreshed]:
    """The schedule's pass: each kind that has measurements gets a version when changed."""
    return [compute(store, kind, actor=actor, note="scheduled", only_if_changed=True)
            for kind in MeasurementKind]


def version_of(store: Store, kind: MeasurementKind,
               version: int | None) -> DisruptionBaselineVersion:
    found = store.disruption.baseline_version(kind, version)
    if found is None:
        raise NotFound(f"no {kind.value} baseline" +
                       ("" if version is None else f" version {version}") +
                       "; POST /disruption/baselines computes one")
    return found


def page_rows(store: Store, kind: MeasurementKind, version: int | None,
              filters: Mapping[str, str | None], *, limit: int,
              cursor: str | None) -> tuple[DisruptionBaselineVersion, Page]:
    found = version_of(store, kind, version)
    variant = {name: value for name, value in filters.items()
               if value is not None and name not in ("name", "namespace", "level")}
    where = BaselineFilter(name=filters.get("name"), namespace=filters.get("namespace"),
                           level=filters.get("level"), variant=variant)
    return found, store.disruption.baseline_rows(kind, found.version, where=where, limit=limit,
                                                 cursor=cursor)


def origin_text(store: Store, kind: MeasurementKind, version: int | None) -> str:
    """The whole version in origin's query_results.json form (see :mod:`api.disruption.origin`)."""
    found = version_of(store, kind, version)
    return origin.render_version(store.disruption.all_baseline_rows(kind, found.version), kind)
