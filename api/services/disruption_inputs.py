"""What the disruption judges read from the store for one job of a payload, in few queries.

Per job: the payload's runs (one ``list_runs``), their measurements (one ``run_measurements``),
and per kind the job's history as columns (one ``job_history_columns``, and one more for the
previous release's job when the job has fewer than 100 runs in the window; non-zero seconds
only, the zeros filled in again), summarised per key at once
(:func:`api.disruption.history.summarise_columns`). The origin-style baseline rows that the
single-run rule matches against are read once per kind and version and kept in a small
process-wide cache (a stored version never changes), so a verdict does not reread thousands of
rows.

The history window is anchored at the payload's first run of the job (ci-tools' "10 to 3 days
ago" was relative to when the aggregator ran, i.e. to the payload), not at the request's
clock: the same payload gets the same verdict, and the verdict cache stays valid.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.disruption.history import History, summarise_columns
from api.disruption.matcher import Index, index_rows
from api.disruption.model import MeasurementKey, MeasurementKind, RunMeasurements
from api.domain import Run, RunStatus
from api.store import RunFilter, Store

HISTORY_FROM = timedelta(days=10)
HISTORY_TO = timedelta(days=3)
MIN_HISTORY_RUNS = 100
MAX_PAYLOAD_RUNS = 1000
COUNTED = (RunStatus.SUCCESS, RunStatus.FAILURE)


@dataclass(frozen=True, slots=True)
class KindHistory:
    """A kind's history for one job: seconds per past run per key (zeros filled in)."""

    kind: MeasurementKind
    seconds: History
    """Summarised by the store reads (raw seconds per run are accepted too)."""
    runs: int
    job: str
    """The job the history came from (the previous release's when the job's own was thin)."""
    since: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class JobMeasurements:
    runs: tuple[RunMeasurements, ...]
    """The payload's counted runs that have measurements, by run id."""
    histories: dict[MeasurementKind, KindHistory]


def previous_release_job(job: str) -> str | None:
    """The job's name one release earlier: every ``X.Y`` in it becomes ``X.(Y-1)`` (ci-tools
    normalises job names the same way to find its fallback job); ``None`` if it names none."""
    changed = re.sub(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])",
                     lambda m: f"{m.group(1)}.{int(m.group(2)) - 1}"
                     if int(m.group(2)) > 0 else m.group(0), job)
    return changed if changed != job else None


def payload_measurements(store: Store, job: str, payload: str) -> tuple[RunMeasurements, ...]:
    page = store.list_runs(job, where=RunFilter(payload=payload), limit=MAX_PAYLOAD_RUNS)
    counted: list[Run] = [run for run in page.items if run.spec.status in COUNTED]
    if not counted:
        return ()
    found = store.disruption.run_measurements(job, [run.spec.run_id for run in counted])
    anchor = {run.spec.run_id: run.spec.started_at or run.created_at for run in counted}
    # the store gives no creation time on RunMeasurements: carry the run's, for the window
    return tuple(RunMeasurements(m.job, m.run_id, m.variant, m.seconds, payload,
                                 anchor.get(m.run_id))
                 for _, m in sorted(found.items()))


def job_history(store: Store, job: str, kind: MeasurementKind, anchor: datetime,
                payload_keys: set[MeasurementKey], *,
                min_runs: int = MIN_HISTORY_RUNS) -> KindHistory:
    since, until = anchor - HISTORY_FROM, anchor - HISTORY_TO
    # zeros left out: summarise_columns fills them in, and they are most of the rows
    columns = store.disruption.job_history_columns(job, kind, since, until, nonzero=True)
    source = job
    if columns.runs < min_runs and (previous := previous_release_job(job)) is not None:
        earlier = store.disruption.job_history_columns(previous, kind, since, until,
                                                       nonzero=True)
        if earlier.runs > columns.runs:
            columns, source = earlier, previous
    keys = {key for key in payload_keys if key.kind is kind}
    return KindHistory(kind, summarise_columns(columns, keys), columns.runs, source, since,
                       until)


def gather(store: Store, job: str, payload: str) -> JobMeasurements | None:
    """``None`` when none of the payload's counted runs of the job has measurements."""
    runs = tuple(run for run in payload_measurements(store, job, payload) if run.seconds)
    if not runs:
        return None
    anchor = min((run.created for run in runs if run.created is not None),
                 default=datetime.now().astimezone())
    keys = {key for run in runs for key in run.seconds}
    kinds = sorted({key.kind for key in keys})
    return JobMeasurements(runs, {kind: job_history(store, job, kind, anchor, keys)
                                  for kind in kinds})


class _IndexCache:
    """Matcher indexes of stored baseline versions, by (store, kind, version)."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, Index] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, kind: MeasurementKind) -> Index:
        version = store.disruption.baseline_version(kind)
        if version is None:
            return Index()
        key = (_identity(store), kind, version.version, version.created_at)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        index = index_rows(store.disruption.all_baseline_rows(kind, version.version))
        with self._lock:
            self._entries[key] = index
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return index


def _identity(store: Store) -> Hashable:
    """Which database a store object reads (stores are opened per request): the SQLite file,
    or the BigQuery project and dataset; an unknown backend is never shared."""
    where = (getattr(store, "path", None)
             or (getattr(store, "project", None), getattr(store, "dataset", None)))
    return type(store).__qualname__, where if where != (None, None) else id(store)


BASELINE_INDEXES = _IndexCache()
