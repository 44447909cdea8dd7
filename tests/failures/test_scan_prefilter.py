"""The scanner's shortcuts (issue 13, scan speed) never change what it finds: the literal
prefilter and the per-step plan cache give the matches the full scan gives."""

from __future__ import annotations

import random

import pytest
import re2

from api.failures.model import Pattern, PatternSyntax
from api.failures.scan import LITERAL_PREFILTER_MAX, compile_patterns, scan

WORDS = ["Killed", "exit code 137", "OOM", "é timeout", "ERR", "panic:", "x"]


def pattern(pid: int, expression: str, syntax: PatternSyntax, steps: tuple[str, ...] = (),
            lines_from_end: int | None = None) -> Pattern:
    return Pattern(id=pid, version=1, expression=expression, syntax=syntax, steps=steps,
                   lines_from_end=lines_from_end)


def found(patterns: list[Pattern], text: str, step: str = "build") -> list[tuple[int, ...]]:
    return [(m.pattern_id, m.line_number, m.start, m.end)
            for m in scan(compile_patterns(patterns), text, step=step)]


@pytest.mark.parametrize("count", [1, 2, LITERAL_PREFILTER_MAX, LITERAL_PREFILTER_MAX + 1])
def test_literals_find_what_the_same_expressions_as_regexes_find(count: int) -> None:
    rng = random.Random(count)
    for _ in range(60):
        words = rng.sample(WORDS, count)
        lines = [" ".join(rng.choices([*WORDS, "ok", "done"], k=rng.randint(0, 3)))
                 for _ in range(rng.randint(0, 8))]
        text = rng.choice(["\n", "\r\n"]).join(lines)
        ends = rng.choice([None, 2])
        literal = [pattern(i, w, PatternSyntax.LITERAL, lines_from_end=ends)
                   for i, w in enumerate(words)]
        # The same expressions as regexes take no prefilter: the reference.
        regex = [pattern(i, re2.escape(w), PatternSyntax.REGEX, lines_from_end=ends)
                 for i, w in enumerate(words)]
        assert found(literal, text) == found(regex, text), (words, text)


def test_a_log_without_the_literal_has_no_match_and_one_with_it_has() -> None:
    patterns = [pattern(1, "etcdserver: request timed out", PatternSyntax.LITERAL)]
    assert found(patterns, "a\nb\n" * 100) == []
    assert found(patterns, "a\nb\netcdserver: request timed out, retrying\n") == [(1, 3, 0, 29)]


def test_each_step_keeps_its_own_plan() -> None:
    compiled = compile_patterns([pattern(1, "Killed", PatternSyntax.LITERAL, steps=("test",)),
                                 pattern(2, "ERR", PatternSyntax.LITERAL)])
    text = "Killed ERR\n"
    for _ in range(2):  # the second round is served from the plan cache
        assert [m.pattern_id for m in scan(compiled, text, step="test")] == [1, 2]
        assert [m.pattern_id for m in scan(compiled, text, step="build")] == [2]
