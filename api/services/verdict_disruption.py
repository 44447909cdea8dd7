"""The ``disruption`` section of a job's verdict (SPEC §9): single-run checks and payload checks.

For a job whose counted runs of the payload carry measurements (backend disruption, alerts):

* every run gets the single-run checks against the newest stored origin-style baselines (the
  best match of its variant, :mod:`api.disruption.single_run`); failures and flakes are listed
  (they inform: the payload policies below decide, as ci-tools aggregates origin's per-run
  tests rather than failing on any one);
* the payload's runs are judged per key against the job's own history (its runs 10 to 3 days
  before the payload's first run; the previous release's job when the job has fewer than 100)
  by both payload policies, ``bayes`` and ``aggregator``; the job setting ``disruption_policy``
  (default ``bayes``) names the one that decides, the other is reported beside it;
* the job setting ``disruption`` decides what a failed deciding policy does: ``block`` (the
  default) fails the job, ``inform`` only reports, ``off`` skips the section.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from api.disruption import aggregator, bayes
from api.disruption.checks import CheckStatus, PayloadResult, judged_runs
from api.disruption.history import summarise
from api.disruption.matcher import Index
from api.disruption.model import MeasurementKind
from api.disruption.single_run import RunCheck, unusual
from api.services.disruption_inputs import BASELINE_INDEXES, JobMeasurements, gather
from api.services.job_settings import JobSettings
from api.store import Store

if TYPE_CHECKING:
    from api.services.verdicts import JobVerdict

POLICIES: dict[str, Callable[..., PayloadResult]] = {
    "bayes": bayes.evaluate, "aggregator": aggregator.evaluate}


@dataclass(frozen=True, slots=True)
class HistoryUsed:
    kind: MeasurementKind
    job: str
    runs: int
    since: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class DisruptionSection:
    setting: str
    """``block`` or ``inform``."""
    policy: str
    """The deciding payload policy."""
    verdict: str
    """The deciding policy's: ``pass``, ``fail`` or ``skipped``."""
    blocking: bool
    reason: str
    runs: int
    """The payload's counted runs with measurements."""
    history: tuple[HistoryUsed, ...]
    policies: tuple[PayloadResult, ...]
    """Every payload policy's checks, the deciding one first."""
    single_run_checked: int
    single_run: tuple[RunCheck, ...]
    """The single-run checks that failed or flaked."""


def section(store: Store, job: str, payload: str, settings: JobSettings
            ) -> DisruptionSection | None:
    """The job's section, or ``None`` when off or when no counted run has measurements."""
    if settings.disruption == "off":
        return None
    found = gather(store, job, payload)
    if found is None:
        return None
    return build(found, settings, {kind: BASELINE_INDEXES.get(store, kind)
                                   for kind in found.histories})


def build(found: JobMeasurements, settings: JobSettings,
          indexes: Mapping[MeasurementKind, Index]) -> DisruptionSection:
    """The section from what :func:`gather` read (pure: the benchmarks call it directly)."""
    runs = list(found.runs)
    # summarised once: both policies read the same sorted history per key
    history = summarise({key: values for h in found.histories.values()
                         for key, values in h.seconds.items()})
    notes = [f"{h.kind} history from {h.job} ({h.runs} runs)"
             for h in found.histories.values() if h.job != runs[0].job]
    note = "; ".join(notes)
    order = [settings.disruption_policy, *(p for p in POLICIES if p != settings.disruption_policy)]
    knobs = {"bayes": {"budget": settings.false_block_budget}, "aggregator": {}}
    payload = judged_runs(runs, history)  # the same keys and runs for both policies
    results = tuple(POLICIES[name](runs, history, history_note=note, payload=payload,
                                   **knobs[name])
                    for name in order)
    checked, unusual_runs = 0, list[RunCheck]()
    for kind, index in indexes.items():
        made, found_unusual = unusual(index, runs, kind)
        checked += made
        unusual_runs += found_unusual
    deciding = results[0]
    verdict = deciding.status.value
    blocking = deciding.status is CheckStatus.FAIL and settings.disruption == "block"
    failed = deciding.failed
    if failed:
        names = sorted({c.key.name or c.key.kind.value for c in failed})
        reason = (f"{deciding.policy}: {len(failed)} disruption check(s) failed "
                  f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")
        if not blocking:
            reason += "; setting disruption=inform: not blocking"
    else:
        reason = f"{deciding.policy}: no disruption regression over {len(runs)} run(s)"
    return DisruptionSection(
        setting=settings.disruption, policy=deciding.policy, verdict=verdict,
        blocking=blocking, reason=reason, runs=len(runs),
        history=tuple(HistoryUsed(h.kind, h.job, h.runs, h.since, h.until)
                      for h in found.histories.values()),
        policies=results, single_run_checked=checked, single_run=tuple(unusual_runs))


def apply(store: Store, payload: str, settings: JobSettings, verdict: JobVerdict) -> JobVerdict:
    """The job's verdict with its disruption section; a blocking failure fails the job."""
    found = section(store, verdict.job, payload, settings)
    if found is None:
        return verdict
    if found.blocking:
        return replace(verdict, verdict="fail", disruption=found,
                       reason=f"{verdict.reason}; {found.reason}")
    return replace(verdict, disruption=found)


def stamp(store: Store) -> Hashable:
    """What the sections depend on besides the runs: the newest disruption baseline versions."""
    versions = [store.disruption.baseline_version(kind) for kind in MeasurementKind]
    return tuple((v.kind, v.version, v.created_at) if v else None for v in versions)
