"""The vocabulary of failure causes (SPEC §10), shared by the scanner, the store and services.

A :class:`Pattern` is curated by people and versioned: an edit makes a new ``version`` of the
same ``id``, and every scan records the versions it applied, so that an edit rescans. The pure
scanner turns a log and patterns into :class:`LineMatch` es; the store keeps them as
:class:`Match` es of a (job, run, step); the classifier reads matches, patterns and
:class:`Breakage` s and returns one :class:`Classification` per failed run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class PatternSyntax(enum.StrEnum):
    LITERAL = "literal"
    REGEX = "regex"


class FailureClass(enum.StrEnum):
    FLAKY = "flaky"
    INFRA = "infra"
    KNOWN = "known"
    NEW = "new"


@dataclass(frozen=True, slots=True)
class Pattern:
    """One version of a curated pattern.

    ``steps`` empty means every step. ``lines_from_end`` set means the match only counts within
    that many lines of the log's end. ``promoted`` makes its matches authoritative (§10's
    precedence). ``retired`` patterns no longer scan but keep explaining old matches.
    """

    id: int
    version: int
    expression: str
    syntax: PatternSyntax
    tags: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    specificity: int = 1
    lines_from_end: int | None = None
    description: str = ""
    author: str = ""
    created: datetime | None = None
    retired: datetime | None = None
    promoted: bool = False


@dataclass(frozen=True, slots=True)
class LineMatch:
    """Where one pattern version matched one log: 1-based line, the span within the line."""

    pattern_id: int
    pattern_version: int
    line_number: int
    start: int
    end: int
    line_text: str


@dataclass(frozen=True, slots=True)
class Match:
    """A :class:`LineMatch` as stored: in which run's which step's log it was found."""

    job: str
    run_id: str
    step: str
    line: LineMatch


@dataclass(frozen=True, slots=True)
class Breakage:
    """A known breakage: while ongoing, failures of its jobs matching its pattern are ``known``.

    ``cause`` names the commit or payload that broke things; ``resolution`` the one that fixed
    them (``resolved`` is when). ``jobs`` empty means every job.
    """

    id: int
    cause: str
    jobs: tuple[str, ...]
    pattern_id: int | None
    notes: str
    started: datetime
    resolved: datetime | None = None
    resolution: str | None = None
    # The breakage's own audit trail: who declared it and who resolved it.
    created_by: str = ""
    resolved_by: str | None = None

    @property
    def ongoing(self) -> bool:
        return self.resolved is None


@dataclass(frozen=True, slots=True)
class Classification:
    """Why one failed run failed: its class, the decisive match (if any) and the reason."""

    job: str
    run_id: str
    failure_class: FailureClass
    reason: str
    decisive: Match | None = None
    breakage_id: int | None = None
