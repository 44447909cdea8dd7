"""Curating failure patterns (SPEC section 10): create, edit, promote, retire; frequencies and
the generic-pattern flag. Flask-free: the routes load and dump, this decides.

Every curating act is the store's audited write (:class:`~api.store.patterns.PatternAuditEntry`,
the patterns' own audit log: a pattern has no job, so the per-job log cannot hold it). A new
pattern version queues its backfill over the history (:mod:`api.services.scans`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from api.failures.model import Pattern, PatternSyntax
from api.failures.regex import PatternRejected, validate
from api.services import scans
from api.services.errors import InvalidInput
from api.store import NotFound, Store
from api.store.patterns import MatchCount, PatternDraft
from client.durations import parse_duration

DEFAULT_GENERIC_SHARE = 0.30
MAX_ID = 2**62  # ids beyond what every backend binds are simply unknown
VERSIONED = ("expression", "syntax", "tags", "steps", "specificity", "lines_from_end",
             "description")


def _check_id(pattern_id: int) -> None:
    if not 1 <= pattern_id <= MAX_ID:
        raise NotFound(f"no pattern {pattern_id}")


def _checked(draft: PatternDraft) -> PatternDraft:
    try:
        validate(draft.expression, draft.syntax)
    except PatternRejected as err:
        raise InvalidInput({"expression": [err.reason]},
                           "the pattern is refused: " + err.reason) from None
    # Tags and steps are sets: kept sorted and once each, so equal drafts compare equal.
    return replace(draft, tags=tuple(sorted(set(draft.tags))),
                   steps=tuple(sorted(set(draft.steps))))


def draft_of(fields: Mapping[str, Any], base: PatternDraft | None = None) -> PatternDraft:
    """``base`` with the versioned ``fields`` given (a create starts from the defaults)."""
    start = base or PatternDraft(expression=str(fields.get("expression", "")),
                                 syntax=PatternSyntax.LITERAL)
    given: dict[str, Any] = {k: fields[k] for k in VERSIONED if k in fields}
    if "syntax" in given:
        given["syntax"] = PatternSyntax(given["syntax"])
    for key in ("tags", "steps"):
        if key in given:
            given[key] = tuple(given[key])
    return _checked(replace(start, **given))


def get(store: Store, pattern_id: int, version: int | None = None) -> Pattern:
    _check_id(pattern_id)
    found = store.patterns.get_pattern(pattern_id, version)
    if found is None:
        raise NotFound(f"no pattern {pattern_id}" + ("" if version is None
                                                     else f" version {version}"))
    return found


def create(store: Store, fields: Mapping[str, Any], *, actor: str) -> Pattern:
    made = store.patterns.create_pattern(draft_of(fields), actor=actor,
                                         reason=str(fields.get("reason", "")))
    scans.queue_backfill(store, made, actor=actor)
    return made


def edit(store: Store, pattern_id: int, fields: Mapping[str, Any], *, actor: str) -> Pattern:
    """Apply the versioned fields given (a new version when they change something) and
    ``promoted``; each change is audited on its own."""
    current = get(store, pattern_id)
    reason = str(fields.get("reason", ""))
    if any(k in fields for k in VERSIONED):
        edited, _ = store.patterns.edit_pattern(
            pattern_id, draft_of(fields, PatternDraft.of(current)), actor=actor, reason=reason)
        if edited.version != current.version and edited.retired is None:
            scans.queue_backfill(store, edited, actor=actor)
        current = edited
    if "promoted" in fields:
        current, _ = store.patterns.promote_pattern(pattern_id, bool(fields["promoted"]),
                                                    actor=actor, reason=reason)
    return current


def retire(store: Store, pattern_id: int, *, actor: str, reason: str) -> Pattern:
    _check_id(pattern_id)
    return store.patterns.retire_pattern(pattern_id, actor=actor, reason=reason)[0]


@dataclass(frozen=True, slots=True)
class GenericFlag:
    """How generic a pattern is: the shares of scanned failed and passing runs' logs it matches.

    ``too_generic`` when either share exceeds ``threshold``: a line found in that many failed
    logs explains none of them in particular (GitHub Actions' "Process completed with exit code
    1." ends every failed log of a project on Actions), and a line found in passing runs' logs
    cannot by itself explain a failure. Shares are over the logs the pattern's current version
    was applied to, so a pattern whose backfill has not run yet is not judged on nothing."""

    failed_logs: int
    failed_matched: int
    passing_logs: int
    passing_matched: int
    threshold: float

    @property
    def failed_share(self) -> float:
        return self.failed_matched / self.failed_logs if self.failed_logs else 0.0

    @property
    def passing_share(self) -> float:
        return self.passing_matched / self.passing_logs if self.passing_logs else 0.0

    @property
    def too_generic(self) -> bool:
        return self.failed_share > self.threshold or self.passing_share > self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {"too_generic": self.too_generic, "threshold": self.threshold,
                "failed_share": round(self.failed_share, 4),
                "passing_share": round(self.passing_share, 4),
                "failed_logs": self.failed_logs, "failed_matched": self.failed_matched,
                "passing_logs": self.passing_logs, "passing_matched": self.passing_matched}


def generic_share(config_value: object) -> float:
    """``GENERIC_PATTERN_SHARE`` as a fraction in [0, 1] (a percentage above 1 is divided)."""
    try:
        share = float(str(config_value))
    except ValueError:
        raise ValueError(f"FLAKEGATE_GENERIC_PATTERN_SHARE must be a number such as 0.3;"
                         f" got {config_value!r}") from None
    share = share / 100 if share > 1 else share
    if not 0 <= share <= 1:
        raise ValueError("FLAKEGATE_GENERIC_PATTERN_SHARE must be between 0 and 1")
    return share


def generic_flag(store: Store, pattern_id: int, threshold: float) -> GenericFlag:
    cov = store.patterns.pattern_coverage(pattern_id)
    return GenericFlag(cov.failed_logs, cov.failed_matched, cov.passed_logs,
                       cov.passed_matched, threshold)


def parse_since(text: str | None, *, field: str = "since",
                now: datetime | None = None) -> datetime | None:
    """A duration back from now (``30d``, ``12h``) or an ISO 8601 time; ``None`` stays None."""
    if text is None:
        return None
    now = now or datetime.now(UTC)
    try:
        return now - timedelta(seconds=parse_duration(text))
    except (ValueError, OverflowError):
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput({field: ["give a duration such as 30d or 12h, or an ISO 8601 time"]}
                           ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stats(store: Store, *, since: datetime, job: str | None, tag: str | None
          ) -> list[MatchCount]:
    """Matches per pattern per day per job; ``tag`` keeps patterns carrying it (retired too)."""
    ids = None
    if tag is not None:
        ids, cursor = [], None
        while True:
            page = store.patterns.list_patterns(include_retired=True, tag=tag, limit=500,
                                                cursor=cursor)
            ids += [p.id for p in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        if not ids:
            return []
    return store.patterns.match_counts(since=since, job=job, pattern_ids=ids)
