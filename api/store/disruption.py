"""The store part for disruption and alert measurements and their baselines (SPEC §9).

The contract (``tests/store/test_contract_disruption.py`` runs it against every backend):

* **One write per upload.** ``put_artifacts`` attaches a run's JUnit files *and* its
  measurement files in one atomic step: the run shows all of them or none. The run must
  exist (:class:`~api.store.base.NotFound`).
* **Idempotent by content.** A file whose ``sha256`` is already attached to the run (JUnit or
  measurement) is skipped and reported as not added; the same files again change nothing.
* **Sums and variant.** A run's seconds per key are the sum over its measurement files (each
  already rounded up by the parser). Its variant is the merge of its cluster-data files
  (:func:`api.disruption.artifacts.merge_variant`); a run that never sent cluster-data keeps
  the ``derived`` variant (from the job's name) of its first measurement upload.
* **Kinds of a run.** A run *has* a kind (disruptions, alerts) once a file of that kind was
  attached, even one naming no key: it then counts, with zeros, in that kind's baselines.
* **Zeros are not stored.** Readers return only what files named; the baseline computation
  adds the zeros of known keys (:mod:`api.disruption.percentiles`).
* **Windows** select runs by ``started_at`` (``created_at`` when never started), ``since``
  inclusive, ``until`` exclusive; only ``success`` and ``failure`` runs count (as for tests).
* **Baseline versions** are numbered per kind from 1; ``put_baseline_version`` assigns the
  next one atomically and a stored version never changes. ``version=None`` reads the newest.
  Rows of a version are listed ordered by (name, namespace, level, release, from_release,
  platform, architecture, network, topology, master_nodes_updated).
* Deleting a run (``Store.delete_run``) deletes its measurements.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from api.disruption.artifacts import ParsedArtifact
from api.disruption.model import (
    BaselineRow,
    MeasurementKey,
    MeasurementKind,
    RunMeasurements,
    Variant,
)
from api.domain import Page, Run
from api.store.base import AttachedFile


@dataclass(frozen=True, slots=True)
class ArtifactsWrite:
    """What ``put_artifacts`` did: the run as now stored and, per file given, whether it was
    new (JUnit files first, in order, then measurement files, in order)."""

    run: Run
    junit_added: tuple[bool, ...]
    measurements_added: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class MeasurementColumns:
    """All runs of one kind in a window, as columns (the baseline computation's input).

    Run ``i`` has variant ``variants[run_variant[i]]``; measurement ``j`` is run
    ``m_run[j]``, key ``keys[m_key[j]]``, ``m_seconds[j]`` seconds. Runs with the kind but no
    measured key are present with no measurement.
    """

    keys: tuple[MeasurementKey, ...]
    variants: tuple[Variant, ...]
    run_variant: np.ndarray  # int32 per run
    m_run: np.ndarray  # int32 per measurement
    m_key: np.ndarray  # int32 per measurement
    m_seconds: np.ndarray  # int64 per measurement
    run_ids: tuple[tuple[str, str], ...] = ()  # (job, run_id) per run, when asked for

    @property
    def runs(self) -> int:
        return int(self.run_variant.shape[0])


@dataclass(frozen=True, slots=True)
class DisruptionBaselineVersion:
    kind: MeasurementKind
    version: int
    created_at: datetime
    window_days: int
    rows: int
    actor: str = ""  # who asked for it ("schedule" for the server's own refresh)
    note: str = ""


@dataclass(frozen=True, slots=True)
class BaselineFilter:
    """Row filters of ``baseline_rows``: each given field must equal the row's."""

    name: str | None = None
    namespace: str | None = None
    level: str | None = None
    variant: Mapping[str, str] = field(default_factory=dict)  # Variant field -> value


class DisruptionStore(abc.ABC):
    """See the module docstring for the contract every method keeps."""

    @abc.abstractmethod
    def put_artifacts(self, job: str, run_id: str, junit: Sequence[AttachedFile],
                      measurements: Sequence[ParsedArtifact],
                      derived: Variant | None = None) -> ArtifactsWrite:
        """Attach JUnit and measurement files to an existing run in one atomic write."""

    @abc.abstractmethod
    def run_measurements(self, job: str,
                         run_ids: Sequence[str]) -> dict[str, RunMeasurements]:
        """The measurements of those runs that have any (any kind or a variant), by run id,
        from one query; unknown runs and runs without measurements are absent."""

    @abc.abstractmethod
    def measurement_columns(self, kind: MeasurementKind, since: datetime,
                            until: datetime | None = None) -> MeasurementColumns:
        """Every evidence run (any job) that has ``kind`` in the window, with its variant and
        its measured seconds of that kind, as columns."""

    @abc.abstractmethod
    def job_history_columns(self, job: str, kind: MeasurementKind, since: datetime,
                            until: datetime | None = None, *,
                            nonzero: bool = False) -> MeasurementColumns:
        """The job's evidence runs that have ``kind`` in the window, as columns: run ``i`` is
        the ``i``-th oldest (``run_ids[i]`` its ``(job, run_id)``, ties by insertion order),
        ``keys`` the kind's keys those runs measured, sorted, and only that kind's seconds.
        The payload policies' history, read in one pass with no object per measurement.

        With ``nonzero``, measurements of 0 seconds are left out (their keys stay in
        ``keys``): most of a job's measurements are zeros, and a reader that fills zeros in
        anyway (the payload policies) then reads a fraction of the rows."""

    @abc.abstractmethod
    def put_baseline_version(self, kind: MeasurementKind, rows: Sequence[BaselineRow], *,
                             window_days: int, created: datetime, actor: str = "",
                             note: str = "") -> int:
        """Store the rows as the kind's next version; returns its number."""

    @abc.abstractmethod
    def baseline_version(self, kind: MeasurementKind,
                         version: int | None = None) -> DisruptionBaselineVersion | None:
        """The given version, or the newest (``None``); ``None`` when there is none."""

    @abc.abstractmethod
    def list_baseline_versions(self, kind: MeasurementKind) -> list[DisruptionBaselineVersion]:
        """Every version of the kind, newest first."""

    @abc.abstractmethod
    def baseline_rows(self, kind: MeasurementKind, version: int | None, *,
                      where: BaselineFilter = BaselineFilter(),
                      limit: int, cursor: str | None = None) -> Page:
        """A page of :class:`BaselineRow` of the version (newest when ``None``), in the
        contract's row order; an unknown version raises :class:`NotFound`."""

    @abc.abstractmethod
    def all_baseline_rows(self, kind: MeasurementKind,
                          version: int | None = None) -> list[BaselineRow]:
        """Every row of the version in row order; no version at all gives ``[]``."""

    @abc.abstractmethod
    def baseline_candidates(self, key_name: str, namespace: str, level: str,
                            kind: MeasurementKind,
                            version: int | None = None) -> list[BaselineRow]:
        """The version's rows of one key (every variant): the matcher's input; cheap (the
        rows are indexed by kind, version and name)."""
