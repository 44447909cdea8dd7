"""§10 precedence: one test per rule, each with every earlier rule tied."""

from __future__ import annotations

from api.failures.model import Match, Pattern
from api.failures.precedence import authoritative, ranked
from tests.failures.helpers import match, pattern


def winner(*pairs: tuple[Pattern, Match], step_order: tuple[str, ...] = ()) -> int:
    patterns = {p.id: p for p, _ in pairs}
    found = authoritative([m for _, m in pairs], patterns, step_order)
    assert found is not None
    return found.line.pattern_id


def test_promoted_beats_specificity_and_position() -> None:
    assert winner((pattern(1, promoted=True), match(1, line=1)),
                  (pattern(2, specificity=9), match(2, line=99))) == 1


def test_higher_specificity_beats_a_later_line() -> None:
    assert winner((pattern(1, specificity=3), match(1, line=1)),
                  (pattern(2, specificity=2), match(2, line=99))) == 1


def test_later_line_wins_when_specificity_ties() -> None:
    assert winner((pattern(1), match(1, line=5)), (pattern(2), match(2, line=6))) == 2


def test_later_step_beats_a_later_line_in_an_earlier_step() -> None:
    pairs = ((pattern(1), match(1, line=500, step="build")),
             (pattern(2), match(2, line=3, step="test")))
    assert winner(*pairs, step_order=("build", "test")) == 2
    assert winner(*pairs, step_order=("test", "build")) == 1
    # Without an order, steps rank in the order they first appear.
    assert winner(*pairs) == 2


def test_non_retired_beats_retired_on_the_same_line() -> None:
    assert winner((pattern(1, created_day=9), match(1)),
                  (pattern(2, retired=True, created_day=20), match(2))) == 1


def test_literal_beats_regex_on_the_same_line() -> None:
    assert winner((pattern(1, created_day=2), match(1)),
                  (pattern(2, regex=True, created_day=20), match(2))) == 1


def test_newest_pattern_wins_last() -> None:
    assert winner((pattern(1, created_day=5), match(1)),
                  (pattern(2, created_day=3), match(2))) == 1
    assert winner((pattern(7, created_day=3), match(7)),
                  (pattern(2, created_day=3), match(2))) == 7


def test_unknown_patterns_never_decide_and_no_match_gives_none() -> None:
    assert authoritative([match(1)], {}) is None
    assert authoritative([], {}) is None
    assert [m.line.pattern_id for m in ranked([match(1), match(2, line=20)],
                                              {2: pattern(2)})] == [2]
