"""The store part for curated patterns, their matches and scans (SPEC section 10).

The contract (``tests/store/test_contract_patterns.py`` runs it against every backend):

* **Versions.** ``create_pattern`` gives a new id at version 1; ``edit_pattern`` with a draft
  that differs from the newest version stores version ``n + 1`` of the same id (an identical
  draft changes nothing). Every version is kept and readable (``get_pattern(id, version)``).
  ``author`` and ``created`` are the pattern's (its first version's); ``promoted`` and
  ``retired`` are the pattern's current state, carried by every version read.
* **Retired, never deleted.** ``retire_pattern`` sets ``retired`` once (retiring again keeps
  the first time); a retired pattern is listed only when asked (``include_retired``) and still
  explains its stored matches.
* **Audited.** Every create, edit, promote/unpromote and retire appends a
  :class:`PatternAuditEntry` (actor, reason, the version in force) in the same transaction as
  the change; a write that changes nothing appends nothing.
* **Matches replace per pattern.** ``replace_matches`` applies a scan of one (job, run, step)
  log atomically: for each pattern id it names, the log's matches of that pattern (of any older
  version) are replaced by the given ones and the log records that version as applied, all in
  one transaction. A version older than the one already applied is ignored (a late scan never
  undoes a newer one); patterns it does not name keep their matches. Readers see a log's matches
  either wholly before or wholly after the call.
* **Deleting a run** deletes its matches and scan records.
* ``since`` filters use the run's start (its creation when never started), as run listings do.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from api.domain import Page, WriteOutcome
from api.failures.model import LineMatch, Match, Pattern, PatternSyntax


@dataclass(frozen=True, slots=True)
class PatternDraft:
    """The versioned fields of a pattern: what a create or an edit writes."""

    expression: str
    syntax: PatternSyntax
    tags: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    specificity: int = 1
    lines_from_end: int | None = None
    description: str = ""

    @classmethod
    def of(cls, pattern: Pattern) -> PatternDraft:
        return cls(expression=pattern.expression, syntax=pattern.syntax, tags=pattern.tags,
                   steps=pattern.steps, specificity=pattern.specificity,
                   lines_from_end=pattern.lines_from_end, description=pattern.description)


@dataclass(frozen=True, slots=True)
class PatternAuditEntry:
    """One curating act on a pattern: ``action`` is create, edit, promote, unpromote or retire.

    The per-job audit log (:class:`api.store.base.AuditEntry`) names a job; a pattern belongs to
    no job, so its acts have their own append-only log, written in the same transaction."""

    pattern_id: int
    action: str
    actor: str
    reason: str
    version: int
    at: datetime


@dataclass(frozen=True, slots=True)
class LogScan:
    """A scan of one log: the pattern versions applied (``{id: version}``) and what matched."""

    job: str
    run_id: str
    step: str
    versions: Mapping[int, int]
    matches: Sequence[LineMatch]


@dataclass(frozen=True, slots=True)
class MatchCount:
    """Matches of one pattern in one job's runs of one UTC day (run start, else creation)."""

    pattern_id: int
    job: str
    day: str  # YYYY-MM-DD
    runs: int  # distinct runs with at least one match
    matches: int  # matching lines


@dataclass(frozen=True, slots=True)
class PatternCoverage:
    """How many logs the pattern's newest applied version was scanned against and matched,
    among logs of failed runs (status ``failure``) and of passing runs (``success``)."""

    failed_logs: int
    failed_matched: int
    passed_logs: int
    passed_matched: int


class ScanKind(enum.StrEnum):
    BACKFILL = "backfill"  # one pattern version applied to the history
    RESCAN = "rescan"  # every live pattern applied to runs since a time (POST /scans)


class ScanState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """A background scan and its progress; ``cursor`` is where it resumes (opaque)."""

    id: int
    kind: ScanKind
    state: ScanState
    created_at: datetime
    updated_at: datetime
    actor: str
    pattern_id: int | None = None
    pattern_version: int | None = None
    job: str | None = None
    since: datetime | None = None
    cursor: str | None = None
    logs_scanned: int = 0
    matches: int = 0
    error: str | None = None


class PatternStore(abc.ABC):
    """See the module docstring for the contract every backend keeps."""

    # -- patterns ----------------------------------------------------------------------------

    @abc.abstractmethod
    def create_pattern(self, draft: PatternDraft, *, actor: str, reason: str = "") -> Pattern:
        """Store version 1 of a new pattern (authored by ``actor``), audited ``create``."""

    @abc.abstractmethod
    def edit_pattern(self, pattern_id: int, draft: PatternDraft, *, actor: str,
                     reason: str = "") -> tuple[Pattern, WriteOutcome]:
        """Store the next version when ``draft`` differs from the newest (audited ``edit``);
        UNCHANGED otherwise. Raises :class:`~api.store.base.NotFound`."""

    @abc.abstractmethod
    def promote_pattern(self, pattern_id: int, promoted: bool, *, actor: str,
                        reason: str = "") -> tuple[Pattern, WriteOutcome]:
        """Set ``promoted`` (audited ``promote`` or ``unpromote`` when it changes)."""

    @abc.abstractmethod
    def retire_pattern(self, pattern_id: int, *, actor: str,
                       reason: str = "") -> tuple[Pattern, WriteOutcome]:
        """Retire the pattern now (audited); retiring again is UNCHANGED."""

    @abc.abstractmethod
    def get_pattern(self, pattern_id: int, version: int | None = None) -> Pattern | None:
        """The given version (the newest when ``None``), or ``None`` if there is none."""

    @abc.abstractmethod
    def list_patterns(self, *, include_retired: bool = False, tag: str | None = None,
                      limit: int, cursor: str | None = None) -> Page:
        """A page of newest versions (:class:`Pattern`), ordered by id."""

    @abc.abstractmethod
    def patterns_by_ids(self, ids: Sequence[int]) -> dict[int, Pattern]:
        """The newest version of each known id among ``ids`` (retired included)."""

    @abc.abstractmethod
    def live_patterns(self) -> list[Pattern]:
        """The newest version of every pattern not retired, ordered by id: what scans apply."""

    @abc.abstractmethod
    def pattern_audit(self, pattern_id: int, *, limit: int, cursor: str | None = None) -> Page:
        """A page of the pattern's :class:`PatternAuditEntry`, newest first."""

    # -- matches -------------------------------------------------------------------------------

    @abc.abstractmethod
    def replace_matches(self, job: str, run_id: str, step: str,
                        pattern_versions_scanned: Mapping[int, int],
                        matches: Sequence[LineMatch]) -> None:
        """Apply one log's scan (see "Matches replace per pattern"). Every match must be of a
        pattern version named in ``pattern_versions_scanned`` (else ``ValueError``). Raises
        :class:`~api.store.base.NotFound` when the run does not exist."""

    @abc.abstractmethod
    def replace_matches_batch(self, scans: Sequence[LogScan]) -> None:
        """``replace_matches`` for many logs in as few transactions as the backend allows
        (each log's scan stays atomic); a log whose run is gone is skipped."""

    @abc.abstractmethod
    def applied_versions(self, job: str, keys: Sequence[tuple[str, str]]
                         ) -> dict[tuple[str, str], dict[int, int]]:
        """The pattern versions applied to each scanned ``(run_id, step)`` among ``keys``."""

    @abc.abstractmethod
    def run_matches(self, job: str, run_ids: Sequence[str]) -> dict[str, list[Match]]:
        """Every stored match of each run among ``run_ids`` (runs with none are absent),
        ordered by step, line number, start, pattern id; one batched read."""

    @abc.abstractmethod
    def match_counts(self, *, since: datetime, job: str | None = None,
                     pattern_ids: Sequence[int] | None = None) -> list[MatchCount]:
        """Matches per pattern, job and day of runs since ``since``; ordered by day, job,
        pattern. ``pattern_ids`` ``None`` means every pattern."""

    @abc.abstractmethod
    def pattern_coverage(self, pattern_id: int) -> PatternCoverage:
        """How many failed and passing runs' logs the pattern was applied to and matched."""

    # -- scans ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def add_scan(self, kind: ScanKind, *, actor: str, pattern_id: int | None = None,
                 pattern_version: int | None = None, job: str | None = None,
                 since: datetime | None = None) -> tuple[ScanRecord, WriteOutcome]:
        """Queue a scan. A backfill is one per pattern version: adding it again returns the
        existing record, UNCHANGED."""

    @abc.abstractmethod
    def get_scan(self, scan_id: int) -> ScanRecord | None: ...

    @abc.abstractmethod
    def update_scan(self, scan_id: int, *, state: ScanState, cursor: str | None,
                    logs_scanned: int, matches: int, error: str | None = None) -> ScanRecord:
        """Record progress (the counts are totals so far). Raises NotFound."""

    @abc.abstractmethod
    def open_scans(self) -> list[ScanRecord]:
        """Scans queued or running (a running one whose worker died resumes from its cursor),
        oldest first."""
