"""The scanner: every (pattern version, line) match, checked against a line-by-line oracle."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.failures import scan as scan_module
from api.failures.model import LineMatch, Pattern, PatternSyntax
from api.failures.regex import PatternRejected
from api.failures.scan import MAX_LINE_CHARS, compile_patterns, scan

LITERAL, REGEX = PatternSyntax.LITERAL, PatternSyntax.REGEX


def literal(pattern_id: int, expression: str, **fields) -> Pattern:
    return Pattern(pattern_id, fields.pop("version", 1), expression, LITERAL, **fields)


def regex(pattern_id: int, expression: str, **fields) -> Pattern:
    return Pattern(pattern_id, fields.pop("version", 1), expression, REGEX, **fields)


def found(patterns: list[Pattern], text: str | bytes, step: str = "build") -> list[tuple]:
    return [(m.pattern_id, m.line_number, m.start, m.end, m.line_text)
            for m in scan(compile_patterns(patterns), text, step=step)]


def oracle(patterns: list[Pattern], text: str, step: str = "build") -> list[tuple]:
    """What scanning means, written the slow obvious way with Python's re, line by line."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    expected = []
    for number, line in enumerate(lines, start=1):
        for pattern in patterns:
            if pattern.retired or (pattern.steps and step not in pattern.steps):
                continue
            if pattern.lines_from_end is not None and number <= len(lines) - pattern.lines_from_end:
                continue
            expression = (re.escape(pattern.expression) if pattern.syntax is LITERAL
                          else pattern.expression)
            match = re.search(expression, line, re.ASCII)  # RE2 classes are ASCII
            if match:
                expected.append((pattern.id, number, *match.span(), line))
    return expected


LOG = """\
Get:1 http://deb.debian.org/debian bookworm/main amd64 libc6 2.36-9 [2,757 kB]
E: Failed to fetch http://deb.debian.org/debian/pool/x.deb  Connection reset by peer
=== RUN   TestUpgrade/etcd
--- FAIL: TestUpgrade (12.31s)
    upgrade_test.go:88: timed out waiting for the condition
FAIL\tgithub.com/openshift/origin/test 12.345s
Process completed with exit code 1.
"""


def test_every_pattern_line_pair_with_one_based_lines_and_spans() -> None:
    patterns = [
        literal(1, "Connection reset by peer"),
        regex(2, r"--- FAIL: Test\w+ \((\d+\.\d+)s\)"),
        regex(3, r"(?i)timed out"),
        literal(4, "FAIL"),
        regex(5, r"exit code [1-9]\d*\.$"),
    ]
    assert found(patterns, LOG) == oracle(patterns, LOG)
    assert found(patterns, LOG)[:2] == [
        (1, 2, 60, 84, LOG.splitlines()[1]),
        (2, 4, 0, 30, "--- FAIL: TestUpgrade (12.31s)"),
    ]
    # Several patterns on one line come in the order they were compiled in.
    assert [(m[0], m[1]) for m in found(patterns, LOG) if m[1] == 4] == [(2, 4), (4, 4)]


def test_a_line_match_carries_the_pattern_version() -> None:
    matches = scan(compile_patterns([literal(7, "FAIL", version=3)]), LOG, step="build")
    assert matches[0] == LineMatch(7, 3, 4, 4, 8, "--- FAIL: TestUpgrade (12.31s)")


def test_bytes_and_str_logs_scan_alike_and_the_last_line_needs_no_newline() -> None:
    patterns = [literal(1, "end"), regex(2, r"^start")]
    text = "start\nmiddle\nthe end"
    assert found(patterns, text) == found(patterns, text.encode()) == [
        (2, 1, 0, 5, "start"), (1, 3, 4, 7, "the end")]
    assert found(patterns, "") == []


def test_crlf_line_ends_are_line_ends() -> None:
    text = "Windows runner\r\nexit code 1.\r\nlast"
    assert found([regex(1, r"\.$"), literal(2, "last"), regex(3, r"\r")], text) == [
        (1, 2, 11, 12, "exit code 1."), (2, 3, 0, 4, "last")]


def test_no_match_spans_a_line_break_and_anchors_mean_line_boundaries() -> None:
    text = "foo\nbar\nfoo bar\n"
    patterns = [regex(1, r"foo\s+bar"), regex(2, r"foo[^x]bar"), regex(3, r"^bar$"),
                regex(4, r"(?s)foo.bar"), regex(5, r"o$")]
    assert found(patterns, text) == [(5, 1, 2, 3, "foo"), (3, 2, 0, 3, "bar"),
                                     (1, 3, 0, 7, "foo bar"), (2, 3, 0, 7, "foo bar"),
                                     (4, 3, 0, 7, "foo bar")]


def test_patterns_apply_to_their_steps_or_to_all_when_none() -> None:
    patterns = [literal(1, "FAIL", steps=("test",)), literal(2, "FAIL"),
                literal(3, "FAIL", steps=("build", "e2e"))]
    compiled = compile_patterns(patterns)
    by_step = {step: {m.pattern_id for m in scan(compiled, LOG, step=step)}
               for step in ("test", "build", "e2e", "other")}
    assert by_step == {"test": {1, 2}, "build": {2, 3}, "e2e": {2, 3}, "other": {2}}


def test_lines_from_end_counts_from_the_last_line() -> None:
    patterns = [literal(1, "FAIL", lines_from_end=3), literal(2, "FAIL", lines_from_end=4),
                literal(3, "exit code", lines_from_end=1), literal(4, "RUN", lines_from_end=100)]
    # Seven lines: line 6 is 2 from the end, line 4 is 4 from the end.
    assert [(m[0], m[1]) for m in found(patterns, LOG)] == [
        (4, 3), (2, 4), (1, 6), (2, 6), (3, 7)]
    assert found(patterns, LOG) == oracle(patterns, LOG)
    assert found(patterns, LOG.rstrip("\n")) == oracle(patterns, LOG.rstrip("\n"))


def test_retired_patterns_do_not_scan() -> None:
    retired = datetime(2026, 1, 1, tzinfo=UTC)
    compiled = compile_patterns([literal(1, "FAIL", retired=retired), literal(2, "FAIL")])
    assert len(compiled) == 1
    assert {m.pattern_id for m in scan(compiled, LOG, step="build")} == {2}


def test_long_lines_keep_their_last_characters_and_spans_move_with_them() -> None:
    line = "x" * 7000 + "é" * 10 + " boom at the end"
    match, = [m for m in scan(compile_patterns([literal(1, "boom"), literal(2, "xxx")]),
                              line + "\n", step="build") if m.pattern_id == 1]
    assert len(match.line_text) == MAX_LINE_CHARS
    assert match.line_text == line[-MAX_LINE_CHARS:]
    assert match.line_text[match.start:match.end] == "boom"
    head, = [m for m in scan(compile_patterns([literal(2, "xxx")]), line, step="s",
                             max_line_chars=100)]
    # The match was in the part cut away: its span is clamped to the kept text's start.
    assert (head.start, head.end, len(head.line_text)) == (0, 0, 100)


def test_spans_count_characters_not_bytes() -> None:
    text = "ünïcödé ☃ FAIL here\nplain FAIL\n\udcff"[:-1]
    assert found([literal(1, "FAIL")], text) == [(1, 1, 10, 14, "ünïcödé ☃ FAIL here"),
                                                 (1, 2, 6, 10, "plain FAIL")]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    matches = scan(compile_patterns([literal(1, "FAIL")]), b"\xff\xfe FAIL\n", step="s")
    assert [(m.line_text, m.start, m.end) for m in matches] == [("\ufffd\ufffd FAIL", 3, 7)]


def test_a_pattern_that_is_no_longer_valid_is_named() -> None:
    with pytest.raises(PatternRejected, match=r"pattern 9 version 2: .*look-ahead"):
        compile_patterns([literal(1, "ok"), regex(9, "a(?=b)", version=2)])


def test_patterns_that_do_not_fit_one_alternation_are_split(monkeypatch) -> None:
    patterns = [regex(n, rf"[\pL\pN]{{{n}}}-{n}$") for n in range(40, 46)] + [literal(99, "FAIL")]
    text = "\n".join(f"{'é' * n}-{n}" for n in range(30, 50)) + "\nFAIL\n"
    expected = [(n, n - 29, 0, n + 3, f"{'é' * n}-{n}") for n in range(40, 46)]
    expected.append((99, 21, 0, 4, "FAIL"))
    monkeypatch.setattr(scan_module, "COMBINED_MAX_MEM", 1 << 20)
    compiled = compile_patterns(patterns)
    assert len(compiled.plan("build").whole) > 1
    assert found(patterns, text) == expected


def test_lines_are_confirmed_pattern_by_pattern_when_there_is_no_set(monkeypatch) -> None:
    monkeypatch.setattr(scan_module, "_line_set", lambda entries: None)
    patterns = [literal(1, "FAIL"), regex(2, r"\d+\.\d+s")]
    assert found(patterns, LOG) == oracle(patterns, LOG)


WORDS = ["FAIL", "fail", "error:", "timeout", "ok", "é", "x", " ", "  ", "\n", "\n", "12.5s",
         "exit 1", "☃"]
PATTERNS = [literal(1, "FAIL"), literal(2, "error: timeout"), regex(3, r"(?i)fail\w*"),
            regex(4, r"^ok"), regex(5, r"\d+(\.\d+)?s$"), regex(6, r"x\s+x"),
            literal(7, "é", lines_from_end=3), regex(8, r"exit [1-9]", steps=("build",)),
            regex(9, r"timeout", steps=("test",)), regex(10, r"\bx\b", lines_from_end=1)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=60), st.sampled_from(["build", "test"]))
def test_the_scanner_agrees_with_the_line_by_line_oracle(words: list[str], step: str) -> None:
    text = "".join(words)
    assert found(PATTERNS, text, step) == oracle(PATTERNS, text, step)


@pytest.mark.parametrize(("expression", "line"), [
    (r"(a+)+$", "a" * (1 << 20) + "!"),
    (r"(x|x)*y", "x" * (1 << 20)),
    (r"(a|aa)*b", "a" * (1 << 20)),
    (r"(.*a){20}", "a" * (1 << 20)),
])
def test_hostile_patterns_scan_a_mebibyte_line_in_linear_time(expression: str, line: str) -> None:
    compiled = compile_patterns([regex(1, expression)])
    started = time.perf_counter()
    scan(compiled, line, step="build")
    # A backtracking engine needs years here (bench/scan_hostile.py); RE2 a few milliseconds.
    assert time.perf_counter() - started < 2
