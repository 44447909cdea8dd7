"""What the linear-time engine accepts as a pattern, and each reason it refuses one."""

from __future__ import annotations

import pytest

from api.failures.model import PatternSyntax
from api.failures.regex import MAX_EXPRESSION_LENGTH, PatternRejected, as_regex, validate

LITERAL, REGEX = PatternSyntax.LITERAL, PatternSyntax.REGEX

# Regexes CI people write, in Go (RE2) and Python flavours.
ORDINARY = [
    r"--- FAIL: Test\w+ \(\d+\.\d+s\)",
    r"^FAILED tests/.*\.py::\w+",
    r"(?i)out of memory",
    r"exit (?:code|status) [1-9]\d*",
    r"panic: runtime error: .+",
    r"Killed process \d+ \((?P<name>\w+)\)",
    r"(?<name>\w+)\.go:\d+: .*timeout",
    r"\b(?:E|W)\d{4} \d\d:\d\d:\d\d",
    r"dial tcp [\d.]+:\d+: (connect: )?connection refused",
    r"[[:alpha:]]+Error: .*",
    r"\pL+ failed$",
    r"x509: certificate (?:has expired|signed by unknown authority)",
    r"timeout after \d+(\.\d+)?s",
    r"\Q[FAIL]\E",
    r"(?m)^E: .*",
    r"(?s)Traceback.*",
    r"error{1,3}",
    r"\x1b\[31mFAIL",
]


@pytest.mark.parametrize("expression", ORDINARY)
def test_ordinary_regexes_are_accepted(expression: str) -> None:
    validate(expression, REGEX)


@pytest.mark.parametrize("expression", ["(a)\\1", "*** [", "a++(", "(?<=x)", "Process completed."])
def test_literals_are_escaped_never_compiled_as_regexes(expression: str) -> None:
    validate(expression, LITERAL)
    assert as_regex(expression, LITERAL) != expression


@pytest.mark.parametrize(("expression", "reason"), [
    (r"(?<=build )failed", "look-behind `(?<=` is not supported by the linear-time engine"),
    (r"(?<!not )failed", "negative look-behind `(?<!` is not supported"),
    (r"failed(?= hard)", "look-ahead `(?=` is not supported"),
    (r"failed(?!ly)", "negative look-ahead `(?!` is not supported"),
    (r"(\w+) \1", "the back-reference `\\1` is not supported by the linear-time engine"),
    (r"(?P<w>\w+) (?P=w)", "named back-reference `(?P=`"),
    (r"(?<w>\w+) \k<w>", "named back-reference `\\k`"),
    (r"a++b", "possessive quantifier `++`"),
    (r"(?>a+)b", "atomic group `(?>`"),
    (r"(?(1)a|b)", "conditional `(?(`"),
    (r"(?R)", "recursion"),
    (r"fail\Z", "`\\Z` (use `$`)"),
    (r"\Afail", "use `^` for its start"),
    (r"fail\z", "use `$` for its end"),
    (r"\C", "any single byte"),
    (r"(?-m)^fail", "the `m` flag cannot be turned off"),
    (r"(?i-m:^fail)", "the `m` flag cannot be turned off"),
    (r"a**", "repeats a repetition"),
    (r"a{1001}", "over the engine's limit of 1000"),
    (r"(fail", "a `(` is not closed"),
    (r"fail)", "a `)` closes no group"),
    (r"[fail", "a `[` character class is not closed"),
    ("fail\\", "ends with a lone"),
    (r"*fail", "follows nothing"),
    (r"[z-a]", "not a regular expression the linear-time engine accepts: invalid character"),
])
def test_regexes_the_engine_cannot_run_are_refused_with_a_readable_reason(
        expression: str, reason: str) -> None:
    with pytest.raises(PatternRejected) as refused:
        validate(expression, REGEX)
    assert reason in refused.value.reason
    assert str(refused.value) == refused.value.reason
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize("expression", [
    "", "a*", "(fail)?", "^", "$", "^$", r"\b", r"\B", "x*$", "(?:)", "fail|", r"\s*", r"(\b|x)",
])
def test_expressions_matching_the_empty_string_are_refused(expression: str) -> None:
    with pytest.raises(PatternRejected, match="empty"):
        validate(expression, REGEX)


@pytest.mark.parametrize("expression", ["", "   ", "\t"])
def test_blank_literals_are_refused(expression: str) -> None:
    with pytest.raises(PatternRejected, match="empty"):
        validate(expression, LITERAL)


@pytest.mark.parametrize("syntax", [LITERAL, REGEX])
def test_line_breaks_are_refused(syntax: PatternSyntax) -> None:
    with pytest.raises(PatternRejected, match="line break"):
        validate("first\nsecond", syntax)


@pytest.mark.parametrize("syntax", [LITERAL, REGEX])
def test_expression_length_is_bounded(syntax: PatternSyntax) -> None:
    validate("x" * MAX_EXPRESSION_LENGTH, syntax)
    with pytest.raises(PatternRejected, match=f"at most {MAX_EXPRESSION_LENGTH}"):
        validate("x" * (MAX_EXPRESSION_LENGTH + 1), syntax)


def test_program_size_is_bounded_by_the_memory_budget() -> None:
    # Short, but Unicode classes repeated 1000 times compile to a program past the budget.
    with pytest.raises(PatternRejected, match="memory bound"):
        validate(r"[\pL\pN]{1000}", REGEX)


def test_a_backslash_quoted_span_is_text_not_escapes() -> None:
    validate(r"\Q\A and \z\E", REGEX)
