"""What the disruption page (``/ui/disruption``) shows, gathered in one place, Flask-free.

For one kind (disruptions or alerts): the stored baseline versions; the keys (backends, alerts)
of the newest version; for the chosen key, its rows by variant (P50..P99, runs); for the chosen
variant (by default the one with the most runs), the same percentiles across the versions, so a
worsening baseline shows as a rising line. And what a run or a payload measured against them:
a run's seconds per key beside the allowance the single-run check matches
(:func:`api.services.disruption_allowed.allowed`), a payload's disruption section per job as
the verdict computes it (:func:`api.services.verdict_disruption.section`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant
from api.services.disruption_allowed import Allowed, allowed
from api.services.job_settings import JobSettings
from api.services.verdict_disruption import DisruptionSection, section
from api.store import Store
from api.store.disruption import DisruptionBaselineVersion

VERSIONS_CHARTED = 20
VARIANT_FIELDS = tuple(f.name for f in fields(Variant))


def variant_label(variant: Variant) -> str:
    """The variant as one stable, readable string (the page's ``variant`` parameter)."""
    return " | ".join(getattr(variant, name) or "-" for name in VARIANT_FIELDS)


def key_label(key: MeasurementKey) -> str:
    return " / ".join(part for part in (key.name, key.namespace, key.level) if part)


@dataclass(frozen=True, slots=True)
class VersionPoint:
    version: DisruptionBaselineVersion
    row: BaselineRow | None  # the chosen key and variant in that version


@dataclass(frozen=True, slots=True)
class RunAgainst:
    key: MeasurementKey
    seconds: int
    allowed: Allowed


@dataclass(frozen=True, slots=True)
class DisruptionPage:
    kind: MeasurementKind
    versions: tuple[DisruptionBaselineVersion, ...]  # newest first
    keys: tuple[MeasurementKey, ...]  # of the newest version, sorted
    key: MeasurementKey | None  # the chosen one
    rows: tuple[BaselineRow, ...]  # the key's rows in the newest version, most runs first
    variant: Variant | None  # the chosen one
    across: tuple[VersionPoint, ...]  # the key and variant across versions, oldest first
    run: tuple[str, str] | None  # (job, run id) asked for
    run_checks: tuple[RunAgainst, ...]
    payload: str | None
    sections: tuple[tuple[str, DisruptionSection], ...]  # per job of the payload with one


def _across(store: Store, kind: MeasurementKind, key: MeasurementKey, variant: Variant,
            versions: tuple[DisruptionBaselineVersion, ...]) -> tuple[VersionPoint, ...]:
    points = []
    for version in reversed(versions[:VERSIONS_CHARTED]):
        rows = store.disruption.baseline_candidates(key.name, key.namespace, key.level, kind,
                                                    version.version)
        points.append(VersionPoint(version, next((r for r in rows if r.variant == variant),
                                                 None)))
    return tuple(points)


def _run_checks(store: Store, kind: MeasurementKind, job: str,
                run_id: str) -> tuple[RunAgainst, ...]:
    found = store.disruption.run_measurements(job, [run_id]).get(run_id)
    if found is None:
        return ()
    return tuple(RunAgainst(key, seconds, allowed(store, key, found.variant))
                 for key, seconds in sorted(found.seconds.items()) if key.kind is kind)


def _sections(store: Store, payload: str) -> tuple[tuple[str, DisruptionSection], ...]:
    inputs = store.verdict_inputs(payload)
    out = []
    for summary in inputs.runs:
        job = inputs.jobs.get(summary.job)
        if job is None:
            continue
        found = section(store, job.name, payload, JobSettings.of(job))
        if found is not None:
            out.append((job.name, found))
    return tuple(out)


def disruption_page(store: Store, kind: MeasurementKind, *, key: MeasurementKey | None = None,
                    variant: str | None = None, run: tuple[str, str] | None = None,
                    payload: str | None = None) -> DisruptionPage:
    versions = tuple(store.disruption.list_baseline_versions(kind))
    rows = store.disruption.all_baseline_rows(kind) if versions else []
    keys = tuple(sorted({row.key for row in rows}))
    chosen = key if key in keys else (keys[0] if keys else None)
    key_rows = tuple(sorted((r for r in rows if r.key == chosen),
                            key=lambda r: (-r.job_runs, r.variant)))
    picked = next((r.variant for r in key_rows if variant_label(r.variant) == variant),
                  key_rows[0].variant if key_rows else None)
    across = (_across(store, kind, chosen, picked, versions)
              if chosen is not None and picked is not None else ())
    return DisruptionPage(
        kind=kind, versions=versions, keys=keys, key=chosen, rows=key_rows, variant=picked,
        across=across, run=run, run_checks=_run_checks(store, kind, *run) if run else (),
        payload=payload, sections=_sections(store, payload) if payload else ())
