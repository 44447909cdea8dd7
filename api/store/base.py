"""The store interface: the one narrow, batched contract every backend implements.

The contract (``tests/store/test_contract.py`` runs it against every backend):

* **Atomic writes.** Each mutating method is one transaction: it either happens wholly or not
  at all, and a crash mid-call leaves no partial run, file or job behind.
* **Batched.** Test results travel in whole sequences (a run's tests, a file's tests); backends
  write them with one statement batch, never one round trip per test.
* **Idempotent.** Writing the same thing twice returns ``WriteOutcome.UNCHANGED`` the second
  time and changes nothing (no duplicate rows, no new ``updated_at``).
* **Identity.** A job is its ``name`` (any printable text). A run is ``(job, run_id)``. A test
  within a run is ``(suite, name)``; a run holds each test at most once.
* **Runs create jobs.** ``put_run`` on an unknown job creates the job with default settings.
* **Tests of a run.** ``put_run(tests=None)`` keeps the stored tests; a sequence (even empty)
  replaces all the run's tests *and* forgets its attached files, whose results it replaced.
  ``attach_junit`` merges each file's tests into the run with :func:`api.domain.merge_status`
  (so a test that failed in one file and passed in another is a flake), and a file whose
  ``sha256`` is already attached to the run is skipped (reported as not added).
* **Order and pages.** ``list_jobs`` orders by name; ``list_runs`` newest-created first.
  ``limit`` is at least 1; ``cursor`` is the opaque ``next_cursor`` of the previous page, which
  is ``None`` on the last page. A malformed cursor raises :class:`InvalidCursor`.
* **Times** are timezone-aware datetimes in, UTC datetimes out (microsecond precision).
* **Thread/process safety.** One store object per thread; many processes may share one
  database, and concurrent writers never lose or duplicate a write. A backend that cannot get
  its lock or connection in time raises :class:`StoreUnavailable` (the API answers 503).
* **Evidence.** Only ``success`` and ``failure`` runs are test evidence: ``history_tallies``
  and ``payload_evidence`` never count ``pending``, ``error`` or ``aborted`` runs. In a tally a
  result counts once under ``passes`` (passed), ``failures`` (failed or error), ``flakes``
  (flaked) or ``skips`` (skipped).
* **Verdict inputs in one call.** ``verdict_inputs(payload)`` returns, from one consistent
  read, everything a verdict needs before any test result: the registration, the per-job run
  summaries (as ``payload_runs``), and for each *involved* job (a job with runs of the payload
  or named in the registration's ``expected``) its :class:`~api.domain.Job` and newest
  :class:`BaselineVersion`. Its cost does not grow in round trips with the number of jobs.
* **Crawl ledger.** ``put_crawl_records`` upserts by ``(source, build)``; reads return what was
  last put. Pull ingestion keeps its incremental state here, not in files.
* **Baselines** are versioned per job from 1 upwards; ``put_baseline`` assigns the next version
  atomically and a stored version never changes. The audit log is append-only.
* **Honest evidence.** A version records which runs it counted (``run_ids`` of
  ``put_baseline``). ``payload_evidence`` removes from each test's history the tallies of the
  judged payload's own runs that the version counted (clamped at 0, pass rate recomputed from
  what remains; a latched rate is never lowered by this; a test left with no runs has no
  history): a payload is never judged against its own runs, however the version was computed.
  A version stored without ``run_ids`` (before membership was recorded) cannot be corrected;
  the server's baseline schedule replaces such a version on its first pass.
* **Leases** (``acquire_lease``) are named, expiring locks shared by every process on the
  database: at most one holder at a time, taken atomically; an expired lease is free.
* **Deletes** (``delete_run``, ``delete_payload``) remove what they name and append their
  audit entry in the same call: a deleted run leaves no trace in lists, tallies, payload
  summaries or evidence, and the same ``(job, run_id)`` can be put again afterwards.
* **Tokens** are kept by hash; their ``id`` is the hash's first 12 hex digits (safe to show).
  A revoked token stays listed with its ``revoked_at``; ``find_token`` returns it as stored and
  the caller decides whether it is live (:meth:`TokenInfo.live`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from api.domain import (
    Job,
    JobSpec,
    Page,
    Payload,
    Run,
    RunSpec,
    Scope,
    TestResult,
    WriteOutcome,
)
from api.stats.types import Prior, TestBaseline, TestTally
from api.store.errors import InvalidCursor, NotFound, StoreError, StoreFull, StoreUnavailable
from api.store.logs import LogStore
from api.store.records import (
    TOKEN_ID_LENGTH,
    AttachedFile,
    AuditEntry,
    BaselineVersion,
    CrawlRecord,
    CrawlState,
    EvidenceColumns,
    HistorySelection,
    HistoryWindow,
    PayloadJobRuns,
    RunFilter,
    TokenInfo,
    VerdictInputs,
)

if TYPE_CHECKING:  # the parts import the errors and records this module re-exports
    from api.store.breakages import BreakageStore
    from api.store.disruption import DisruptionStore
    from api.store.github import GitHubStore
    from api.store.page_reads import PageReads
    from api.store.patterns import PatternStore
    from api.store.scan_pages import ScanPages
    from api.store.transfer import TransferStore
    from api.store.work import WorkQueue

# The errors and records live in their own modules; callers may keep importing them from here.
__all__ = [
    "TOKEN_ID_LENGTH",
    "AttachedFile",
    "AuditEntry",
    "BaselineVersion",
    "CrawlRecord",
    "CrawlState",
    "EvidenceColumns",
    "HistorySelection",
    "HistoryWindow",
    "InvalidCursor",
    "NotFound",
    "PayloadJobRuns",
    "RunFilter",
    "Store",
    "StoreError",
    "StoreFull",
    "StoreUnavailable",
    "TokenInfo",
    "VerdictInputs",
]


class Store(abc.ABC):
    """See the module docstring for the contract every method keeps."""

    # -- lifecycle ---------------------------------------------------------------------------

    @abc.abstractmethod
    def migrate(self) -> int:
        """Create or upgrade the schema; idempotent. Returns the schema version now in force."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections. The object must not be used afterwards."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise if the backend cannot answer a trivial query (used by ``/healthz``)."""

    # -- jobs --------------------------------------------------------------------------------

    @abc.abstractmethod
    def put_job(self, spec: JobSpec, *, actor: str | None = None) -> tuple[Job, WriteOutcome]:
        """Create the job, or update the fields of ``spec`` that are not ``None``.

        With ``actor``, every field the write changes (:func:`api.domain.job_field_changes`
        of the job as stored at write time) is appended to the job's audit log as an
        ``AuditEntry(action="settings", field=..., old=..., new=...)`` in the same
        transaction: a settings change is never stored unaudited. An unchanged put adds none.
        """

    @abc.abstractmethod
    def get_job(self, name: str) -> Job | None: ...

    @abc.abstractmethod
    def list_jobs(self, *, limit: int, cursor: str | None = None) -> Page:
        """A page of :class:`Job`, ordered by name."""

    # -- runs --------------------------------------------------------------------------------

    @abc.abstractmethod
    def put_run(
        self, spec: RunSpec, tests: Sequence[TestResult] | None = None
    ) -> tuple[Run, WriteOutcome]:
        """Create or update a run (and its job), optionally replacing all its tests."""

    @abc.abstractmethod
    def attach_junit(
        self, job: str, run_id: str, files: Sequence[AttachedFile]
    ) -> tuple[Run, tuple[bool, ...]]:
        """Attach files to an existing run; returns the run and, per file, whether it was new.

        Raises :class:`NotFound` if the run does not exist. Files with a ``sha256`` already
        attached to the run (or repeated within ``files``) are skipped.
        """

    @abc.abstractmethod
    def get_run(self, job: str, run_id: str) -> Run | None: ...

    @abc.abstractmethod
    def list_runs(
        self, job: str, *, where: RunFilter = RunFilter(),  # noqa: B008  (frozen)
        limit: int, cursor: str | None = None,
    ) -> Page:
        """A page of :class:`Run` of one job, newest-created first."""

    @abc.abstractmethod
    def get_run_tests(self, job: str, run_id: str) -> list[TestResult]:
        """The run's stored tests ordered by (suite, name); raises :class:`NotFound`."""

    @abc.abstractmethod
    def delete_run(self, job: str, run_id: str, audit: AuditEntry) -> None:
        """Delete the run with its results and files, appending ``audit`` (its ``job`` is
        the run's) to the job's audit log in the same call; raises :class:`NotFound`."""

    # -- payloads ----------------------------------------------------------------------------

    @abc.abstractmethod
    def put_payload(self, payload: Payload) -> tuple[Payload, WriteOutcome]:
        """Create or replace the payload's expectations (``expected``, ``deadline``)."""

    @abc.abstractmethod
    def get_payload(self, payload_id: str) -> Payload | None: ...

    @abc.abstractmethod
    def delete_payload(self, payload_id: str, audit: AuditEntry) -> tuple[str, ...]:
        """Delete the registration only (its runs stay), appending ``audit`` to the log of
        every existing job it involves (named in ``expected`` or with runs of it), with
        ``job`` set to each; returns those jobs by name. Raises :class:`NotFound`."""

    # -- tokens ------------------------------------------------------------------------------

    @abc.abstractmethod
    def add_token(self, token_hash: str, scope: Scope, label: str,
                  expires_at: datetime | None = None) -> TokenInfo:
        """Store a token by its hash (the plain token is never stored); putting a known hash
        again replaces its scope, label and expiry."""

    @abc.abstractmethod
    def find_token(self, token_hash: str) -> TokenInfo | None:
        """The token with this hash as stored (revoked or expired included), or ``None``."""

    @abc.abstractmethod
    def list_tokens(self, *, limit: int, cursor: str | None = None) -> Page:
        """A page of :class:`TokenInfo`, oldest first (ties by id), revoked ones included."""

    @abc.abstractmethod
    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> TokenInfo:
        """Mark the token revoked by ``actor`` at ``at`` (recorded on its row: the token
        audit); revoking again keeps the first revocation. Raises :class:`NotFound`."""

    @abc.abstractmethod
    def touch_token(self, token_id: str, at: datetime) -> None:
        """Record a use: ``last_used_at`` becomes ``at`` unless it is already later."""

    # -- history and baselines ---------------------------------------------------------------

    @abc.abstractmethod
    def history_tallies(self, job: str, window: HistoryWindow) -> tuple[int, list[TestTally]]:
        """Per-test tallies over the window's runs, and how many runs that was.

        Runs are ordered by ``started_at`` (``created_at`` when never started), newest first;
        runs without a payload are included. An unknown job gives ``(0, [])``.
        """

    @abc.abstractmethod
    def payload_runs(self, payload: str) -> list[PayloadJobRuns]:
        """Per job that has runs of ``payload``, how far they got; ordered by job name."""

    @abc.abstractmethod
    def verdict_inputs(self, payload: str) -> VerdictInputs:
        """The payload's registration (or ``None``), its ``payload_runs``, and each involved
        job's settings and newest baseline, read in one transaction or as few queries as the
        backend allows (never one per job). Involved jobs are those with runs of ``payload``
        plus those named in the registration's ``expected``; an unknown payload with no runs
        gives ``VerdictInputs(None, (), {}, {})``.
        """

    @abc.abstractmethod
    def payload_evidence(self, job: str, payload: str,
                         baseline_version: int | None) -> EvidenceColumns:
        """Per test with a result in the job's evidence runs of ``payload``, its tallies
        aligned with that baseline version's record (``None``: no baseline), as columns.
        The history excludes the payload's runs the version counted (see "Honest evidence").

        This is the verdict's hot path, so it returns arrays rather than an object per test.
        """

    @abc.abstractmethod
    def put_baseline(
        self,
        job: str,
        *,
        window_days: int,
        max_runs: int,
        exclude_payload: str | None,
        latch: bool,
        runs: int,
        prior: Prior,
        tests: Sequence[TestBaseline],
        note: str | None = None,
        audit: AuditEntry | None = None,
        run_ids: Sequence[str] | None = None,
    ) -> BaselineVersion:
        """Store the next baseline version of an existing job; raises :class:`NotFound`.

        ``run_ids`` are the runs the version was computed from (see ``history_window``); the
        store keeps them so verdicts can remove a payload's own runs. ``None``: unknown.

        ``audit``, if given, is appended to the job's audit log in the same transaction, with
        its ``version`` set to the new version: a loosening is never stored unaudited.
        """

    @abc.abstractmethod
    def get_baseline(self, job: str, version: int | None = None) -> BaselineVersion | None:
        """The given version, or the newest one when ``version`` is ``None``."""

    @abc.abstractmethod
    def baseline_tests(self, job: str, version: int) -> list[TestBaseline]:
        """A version's per-test records ordered by (suite, name); raises :class:`NotFound`."""

    @abc.abstractmethod
    def list_baselines(self, job: str, *, limit: int, cursor: str | None = None) -> Page:
        """A page of :class:`BaselineVersion`, newest first."""

    @abc.abstractmethod
    def add_audit(self, entry: AuditEntry) -> None:
        """Append to the job's audit log; raises :class:`NotFound` for an unknown job."""

    @abc.abstractmethod
    def list_audit(self, job: str, *, limit: int, cursor: str | None = None) -> Page:
        """A page of :class:`AuditEntry`, newest first."""

    # -- crawl ledger --------------------------------------------------------------------------

    @abc.abstractmethod
    def put_crawl_records(self, records: Sequence[CrawlRecord]) -> None:
        """Upsert records by ``(source, build)`` in one transaction; ``first_seen`` is kept
        from the first put, ``updated_at`` is set to now."""

    @abc.abstractmethod
    def get_crawl_records(self, source: str, builds: Sequence[str]) -> dict[str, CrawlRecord]:
        """The known records among ``builds`` of ``source``, by build."""

    @abc.abstractmethod
    def list_crawl_records(self, source: str, *, state: CrawlState | None = None, limit: int,
                           cursor: str | None = None) -> Page:
        """A page of :class:`CrawlRecord` of ``source``, ordered by build."""

    # -- baseline membership and leases (the server-kept baselines) ---------------------------

    @abc.abstractmethod
    def history_window(self, job: str, window: HistoryWindow) -> HistorySelection:
        """The window's run ids (newest first, as ``history_tallies`` chooses them) and their
        per-test tallies, from one consistent read; an unknown job gives no runs."""

    @abc.abstractmethod
    def baseline_run_ids(self, job: str, version: int) -> frozenset[str] | None:
        """The runs a version was computed from; ``None`` when it did not record them.
        Raises :class:`NotFound` for an unknown version."""

    @abc.abstractmethod
    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take the lease ``name`` for ``holder`` until ``ttl_s`` seconds from now, atomically
        across processes and servers. True when taken: it was free, expired, or already held by
        ``holder`` (which renews it). False when another holder has it unexpired."""

    @abc.abstractmethod
    def release_lease(self, name: str, holder: str) -> None:
        """Free the lease if ``holder`` has it; otherwise do nothing."""

    # -- build logs (issue 13): a part of its own, see api/store/logs.py ------------------------
    @property
    @abc.abstractmethod
    def logs(self) -> LogStore:
        """The build logs of runs' steps (:class:`~api.store.logs.LogStore`)."""

    # -- scan pages (issue 13, scan speed): a part of its own, see api/store/scan_pages.py ---
    @property
    @abc.abstractmethod
    def scan_pages(self) -> ScanPages:
        """Logs as a background scan reads them (:class:`~api.store.scan_pages.ScanPages`)."""

    # -- disruption and alert measurements (SPEC §9; contract in api/store/disruption.py) -----

    @property
    @abc.abstractmethod
    def disruption(self) -> DisruptionStore:
        """The store's part for run measurements and their baseline versions."""

    # -- patterns: curated failure patterns, matches, scans (api/store/patterns.py) -----------

    @property
    @abc.abstractmethod
    def patterns(self) -> PatternStore:
        """The patterns part; its contract is on :class:`api.store.patterns.PatternStore`."""

    # -- known breakages (SPEC §10; contract in api/store/breakages.py) -----------------------

    @property
    @abc.abstractmethod
    def breakages(self) -> BreakageStore:
        """The known-breakages part of this store."""

    # -- durable background work (issue 14; contract in api/store/work.py) ---------------------

    @property
    @abc.abstractmethod
    def work(self) -> WorkQueue:
        """The queue of webhook deliveries and publications the server works off-request."""

    # -- GitHub publications (issue 14; contract in api/store/github.py) ---------------------

    @property
    @abc.abstractmethod
    def github(self) -> GitHubStore:
        """What was published on GitHub (statuses, check runs, comments) and its digests."""

    # -- the reads behind the pages (issue 15; contract in api/store/page_reads.py) -----------

    @property
    @abc.abstractmethod
    def page_reads(self) -> PageReads:
        """Recent payloads and test histories by key (:class:`~api.store.page_reads.PageReads`)."""

    # -- whole-history copies (issue 16, `flakegate db copy`; contract in api/store/transfer.py)

    @property
    @abc.abstractmethod
    def transfer(self) -> TransferStore:
        """Batched export and idempotent import of every logical table, with copy progress."""
