"""Which of a failed run's matches is authoritative (SPEC §10 precedence), as a pure function.

Several patterns often match one failed log (a generic "exit code 1" and the specific cause
above it). §10 orders them, first difference wins:

1. a match of a **promoted** pattern (a person said "this one explains it");
2. higher **specificity**;
3. **latest in the log**: the later step (in the run's step order), then the later line;
4. a **non-retired** pattern before a retired one;
5. a **literal** pattern before a regex;
6. the **newest** pattern (created later; the higher id when the times tie or are unknown).

A match whose pattern is unknown (not among ``patterns``) cannot be ranked or tagged, so it
never decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from api.failures.model import Match, Pattern, PatternSyntax

_NEVER = datetime.min.replace(tzinfo=UTC)


def _step_ranks(matches: Sequence[Match], step_order: Sequence[str]) -> dict[str, int]:
    """Each step's position: as given, then steps not named there in order of appearance."""
    ranks = {step: i for i, step in enumerate(step_order)}
    for match in matches:
        ranks.setdefault(match.step, len(ranks))
    return ranks


def precedence_key(match: Match, pattern: Pattern, step_rank: int) -> tuple[object, ...]:
    """A key whose maximum is the authoritative match (rules 1-6 of the module docstring)."""
    return (
        pattern.promoted,
        pattern.specificity,
        step_rank,
        match.line.line_number,
        pattern.retired is None,
        pattern.syntax is PatternSyntax.LITERAL,
        pattern.created or _NEVER,
        pattern.id,
    )


def ranked(matches: Sequence[Match], patterns: Mapping[int, Pattern],
           step_order: Sequence[str] = ()) -> list[Match]:
    """The matches with a known pattern, authoritative first."""
    ranks = _step_ranks(matches, step_order)
    known = [m for m in matches if m.line.pattern_id in patterns]
    return sorted(known, reverse=True,
                  key=lambda m: precedence_key(m, patterns[m.line.pattern_id], ranks[m.step]))


def authoritative(matches: Sequence[Match], patterns: Mapping[int, Pattern],
                  step_order: Sequence[str] = ()) -> Match | None:
    """The authoritative match among one failed run's ``matches``; ``None`` when none ranks.

    ``patterns`` maps pattern id to the pattern (its current version: retired ones included,
    as they keep explaining old matches). ``step_order`` is the run's steps in order; steps it
    does not name follow, in the order they first appear in ``matches``.
    """
    order = ranked(matches, patterns, step_order)
    return order[0] if order else None
