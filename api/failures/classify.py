"""Why one failed run failed: ``flaky``, ``infra``, ``known`` or ``new`` (SPEC §10), pure.

The rules, in order (the first that applies decides; the reason names it and the line):

1. the **decisive** match (§10 precedence, :mod:`api.failures.precedence`) is of a pattern
   tagged ``flaky`` → ``flaky``; tagged ``infra`` → ``infra``;
2. any match is of the pattern of an **ongoing breakage** of the run's job → ``known`` (the
   breakage's match becomes the decisive one: it is what explains the failure);
3. the same job **failed and passed on the same payload** → ``flaky`` (empirical);
4. otherwise ``new``: nothing explains it (the decisive match, if an untagged pattern matched,
   is still reported so that its line shows).

A pattern flagged **too generic** (``generic``: it matches a large share of all logs, failed
and passing alike, like "Process completed with exit code 1.") never decides: its matches are
left out, so a generic line cannot make a real failure look flaky (§10's first complaint).

Tags are compared case-insensitively. ``flaky`` comes before ``infra`` because §10 makes it
the special tag. A declared breakage comes after the decisive tags: a person curated both, and
the tags are the pattern's own statement about its line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence

from api.failures.model import Breakage, Classification, FailureClass, Match, Pattern
from api.failures.precedence import ranked

FLAKY_TAG = "flaky"
INFRA_TAG = "infra"


def tags_of(pattern: Pattern) -> frozenset[str]:
    return frozenset(tag.lower() for tag in pattern.tags)


def where(match: Match) -> str:
    """``pattern #3 matched step build line 120: "<text>"`` (text as stored)."""
    line = match.line
    return (f"pattern #{line.pattern_id} matched step {match.step} line {line.line_number}:"
            f" {line.line_text!r}")


def _breakage_match(job: str, order: Sequence[Match], breakages: Iterable[Breakage],
                    generic: Container[int]) -> tuple[Breakage, Match] | None:
    """The first (by precedence) match of an ongoing breakage's pattern for ``job``."""
    ongoing = [b for b in breakages
               if b.ongoing and b.pattern_id is not None and (not b.jobs or job in b.jobs)]
    for found in order:
        for breakage in ongoing:
            if (breakage.pattern_id == found.line.pattern_id
                    and found.line.pattern_id not in generic):
                return breakage, found
    return None


def classify(job: str, run_id: str, matches: Sequence[Match], patterns: Mapping[int, Pattern],
             breakages: Iterable[Breakage], passed_on_same_payload: bool, *,
             step_order: Sequence[str] = (),
             generic: Container[int] = frozenset()) -> Classification:
    """Classify one failed run from its matches (see the module docstring for the rules).

    ``patterns`` maps id to pattern (retired ones included); ``breakages`` may hold any
    breakages (only ongoing ones of ``job`` count); ``passed_on_same_payload`` is whether
    ``job`` also has a successful run of this run's payload; ``generic`` holds the ids of
    patterns flagged too generic (asked lazily, in precedence order, so that a costly flag is
    computed only for the patterns that could decide).
    """
    order = ranked(matches, patterns, step_order)
    decisive = next((m for m in order if m.line.pattern_id not in generic), None)
    if decisive is not None:
        tags = tags_of(patterns[decisive.line.pattern_id])
        for tag, cls in ((FLAKY_TAG, FailureClass.FLAKY), (INFRA_TAG, FailureClass.INFRA)):
            if tag in tags:
                return Classification(job, run_id, cls,
                                      f"decisive match tagged {tag}: {where(decisive)}",
                                      decisive=decisive)
    known = _breakage_match(job, order, breakages, generic)
    if known is not None:
        breakage, found = known
        return Classification(
            job, run_id, FailureClass.KNOWN,
            f"ongoing breakage #{breakage.id} (cause {breakage.cause}): {where(found)}",
            decisive=found, breakage_id=breakage.id)
    if passed_on_same_payload:
        return Classification(job, run_id, FailureClass.FLAKY,
                              "the same job failed and passed on the same payload",
                              decisive=decisive)
    reason = ("no flaky, infra or breakage pattern matched" if decisive is None
              else f"no flaky, infra or breakage pattern; decisive: {where(decisive)}")
    return Classification(job, run_id, FailureClass.NEW, reason, decisive=decisive)


def counts(classifications: Iterable[Classification]) -> dict[FailureClass, int]:
    """How many failed runs fell in each class (every class present, zeros included)."""
    found = Counter(c.failure_class for c in classifications)
    return {cls: found.get(cls, 0) for cls in FailureClass}


def summary(classifications: Iterable[Classification]) -> str:
    """The tracker's one line, e.g. ``"3/10 flaky, 1/10 known, 6/10 new"``.

    Classes with no failure are left out; ``"no failures"`` when there are none.
    """
    per_class = counts(classifications)
    total = sum(per_class.values())
    if not total:
        return "no failures"
    return ", ".join(f"{n}/{total} {cls.value}" for cls, n in per_class.items() if n)
