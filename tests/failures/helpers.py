"""Builders of the §10 vocabulary for the pure failure-cause tests."""

from __future__ import annotations

from datetime import UTC, datetime

from api.failures.model import LineMatch, Match, Pattern, PatternSyntax


def pattern(pid: int, *, tags: tuple[str, ...] = (), specificity: int = 1,
            promoted: bool = False, retired: bool = False, regex: bool = False,
            created_day: int = 1) -> Pattern:
    return Pattern(
        id=pid, version=1, expression=f"cue {pid}",
        syntax=PatternSyntax.REGEX if regex else PatternSyntax.LITERAL, tags=tags,
        specificity=specificity, promoted=promoted,
        created=datetime(2026, 1, created_day, tzinfo=UTC),
        retired=datetime(2026, 2, 1, tzinfo=UTC) if retired else None)


def match(pid: int, line: int = 10, *, step: str = "build", job: str = "j",
          run_id: str = "r1", text: str | None = None) -> Match:
    return Match(job=job, run_id=run_id, step=step,
                 line=LineMatch(pattern_id=pid, pattern_version=1, line_number=line, start=0,
                                end=3, line_text=text if text is not None else f"cue {pid}"))
