"""The value types the store contract speaks besides the domain's (:mod:`api.domain`): what a
backend returns from its batched reads and takes in its writes. Frozen dataclasses, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from api.domain import Job, JunitFile, Payload, RunStatus, Scope, TestResult
from api.stats.types import Prior, TestKey, TestTally


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """One JUnit file to attach, with the tests parsed from it (already merged within the file)."""

    file: JunitFile
    tests: Sequence[TestResult]


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """Which runs of a job a baseline is computed from: the newest ``max_runs`` evidence runs
    started (or, if never started, created) at or after ``since``, other payloads only."""

    since: datetime | None = None
    max_runs: int = 200
    exclude_payload: str | None = None


@dataclass(frozen=True, slots=True)
class PayloadJobRuns:
    """How far one job's runs of a payload have got."""

    job: str
    total: int
    finished: int  # not pending
    counted: int  # success or failure: evidence
    last_change: datetime  # the newest updated_at among them
    # When each still-pending run started (its creation when never started), oldest first:
    # the verdict counts those older than the job's ``run_timeout`` as errors.
    pending_since: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class EvidenceColumns:
    """A payload's per-test evidence for one job joined with a baseline version, row ``i`` per
    test (in no particular order).

    ``counts[i]`` = passes, failures, flakes, skips (ints) over the counted runs; ``history[i]``
    = the baseline record's runs, passes, failures, flakes, pass_rate, latched (floats; all 0
    when the test has no record). ``absent`` counts baseline records of tests with no result.
    """

    suites: tuple[str, ...]
    names: tuple[str, ...]
    counts: np.ndarray
    history: np.ndarray
    absent: int
    # bool per row: the test was marked informing (JUnit lifecycle="informing") in any of the
    # counted runs; ``None`` reads as all False.
    informing: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class BaselineVersion:
    job: str
    version: int
    created_at: datetime
    runs: int  # evidence runs in the window
    tests: int  # per-test records stored
    window_days: int
    max_runs: int
    exclude_payload: str | None
    latch: bool
    prior: Prior
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    job: str
    action: str
    actor: str
    reason: str
    tests: tuple[TestKey, ...]
    version: int | None
    at: datetime
    # A settings change (``action`` "settings") names its field and JSON old/new values.
    field: str | None = None
    old: object = None
    new: object = None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A stored token without its secret: ``id`` is the first 12 hex digits of its hash."""

    id: str
    scope: Scope
    label: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


TOKEN_ID_LENGTH = 12


class CrawlState(enum.StrEnum):
    DONE = "done"  # ingested; never fetched again
    UNFINISHED = "unfinished"  # seen without a finish: re-polled until it finishes or ages out
    FAILED = "failed"  # could not be ingested (reason kept); retried up to a limit


@dataclass(frozen=True, slots=True)
class CrawlRecord:
    """What a pull crawler knows of one build of one source (e.g. a bucket prefix)."""

    source: str
    build: str  # the build's location, e.g. gs://bucket/logs/job/1234
    state: CrawlState
    attempts: int = 0
    reason: str | None = None
    job: str | None = None
    run_id: str | None = None
    first_seen: datetime | None = None  # set by the store on first put when None
    updated_at: datetime | None = None  # set by the store on every put


@dataclass(frozen=True, slots=True)
class VerdictInputs:
    """What a payload's verdict depends on, read at once (see ``Store.verdict_inputs``).

    ``jobs`` and ``baselines`` are keyed by job name and hold only involved jobs that exist
    (an expected job never created is absent from ``jobs``) and that have a baseline (newest
    version) respectively.
    """

    payload: Payload | None
    runs: tuple[PayloadJobRuns, ...]  # ordered by job name, as ``payload_runs``
    jobs: Mapping[str, Job]
    baselines: Mapping[str, BaselineVersion]


@dataclass(frozen=True, slots=True)
class HistorySelection:
    """A history window's chosen runs (by run id, newest first) and their per-test tallies."""

    run_ids: tuple[str, ...]
    tallies: list[TestTally]


@dataclass(frozen=True, slots=True)
class RunFilter:
    payload: str | None = None
    status: RunStatus | None = None
    since: datetime | None = None  # runs started (or, if not started, created) at or after
