"""Which expressions flakegate's linear-time engine (RE2) accepts, and why it refuses the others.

Pure: no Flask, no store. A pattern matches *one line* of a log (SPEC §10): ``^`` and ``$`` are
the line's start and end and nothing matches a newline. :func:`validate` refuses what RE2 cannot
run (back-references, look-around, possessive quantifiers, ...), what would break that line model
(``\\A``, ``\\z``, turning the ``m`` flag off, ``\\C``), what is empty or can match the empty string
(it would match every line), and what is too long or compiles past a fixed memory bound. RE2
needs no backtracking, so every accepted pattern scans in time linear in the log's length, and
the bounds keep compiling and scanning cheap whatever a person writes.
"""

from __future__ import annotations

import re

import re2

from api.failures.model import PatternSyntax

#: Longest expression accepted, in characters (the longest real CI pattern is far shorter).
MAX_EXPRESSION_LENGTH = 1_000
#: RE2's memory budget for one pattern: about two thirds for its compiled program (a larger
#: program is refused), the rest for its lazily built DFA (when full RE2 falls back to its
#: NFA, slower yet still linear), so no pattern can make compiling or scanning memory-hungry.
PATTERN_MAX_MEM = 2 << 20

# RE2 reports what it could not parse as "<kind>: <fragment>"; these say it for a person.
_OPERATORS = {
    "(?<=": "look-behind `(?<=`",
    "(?<!": "negative look-behind `(?<!`",
    "(?=": "look-ahead `(?=`",
    "(?!": "negative look-ahead `(?!`",
    "(?>": "the atomic group `(?>`",
    "(?P=": "the named back-reference `(?P=`",
    "(?P>": "the recursive call `(?P>`",
    "(?R": "recursion `(?R)`",
    "(?(": "the conditional `(?(`",
    "(?|": "the branch reset `(?|`",
    "(?#": "the comment group `(?#`",
}
_ESCAPES = {
    "k": "the named back-reference `\\k`",
    "G": "`\\G`",
    "Z": "`\\Z` (use `$`)",
}
_LINE_ESCAPES = {
    "A": "`\\A` is not supported: a pattern matches one line, use `^` for its start",
    "z": "`\\z` is not supported: a pattern matches one line, use `$` for its end",
    "C": "`\\C` (any single byte) is not supported: it can split a character",
}
_NOT_LINEAR = "is not supported by the linear-time engine"
_TURNS_OFF_MULTILINE = re.compile(r"\(\?[a-zA-Z]*-[a-zA-Z]*m")
# Every context an empty match can depend on within one line: its start and end, a word
# boundary either way, inside a word, between two non-word characters.
_EMPTY_PROBES = ("", "a", " ", "a  aa ")


class PatternRejected(ValueError):
    """The expression cannot be a pattern; ``reason`` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def options(max_mem: int = PATTERN_MAX_MEM) -> re2.Options:
    """RE2 options for line-oriented matching: nothing ever matches a newline, no log noise."""
    opts = re2.Options()
    opts.max_mem = max_mem
    opts.never_nl = True
    opts.log_errors = False
    return opts


def as_regex(expression: str, syntax: PatternSyntax) -> str:
    """The RE2 expression for a pattern: literals are escaped, never compiled as regexes."""
    return re2.escape(expression) if syntax is PatternSyntax.LITERAL else expression


def validate(expression: str, syntax: PatternSyntax) -> None:
    """Return when the engine can run ``expression`` in linear time; else raise PatternRejected."""
    if not expression.strip():
        raise PatternRejected("the expression is empty")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise PatternRejected(
            f"the expression has {len(expression)} characters; at most "
            f"{MAX_EXPRESSION_LENGTH} are accepted")
    if "\n" in expression or "\r" in expression:
        raise PatternRejected("the expression contains a line break; a pattern matches one line")
    if syntax is PatternSyntax.REGEX:
        _check_line_model(expression)
    try:
        compiled = re2.compile(as_regex(expression, syntax), options())
    except re2.error as error:
        raise PatternRejected(_reword(_message(error), expression)) from None
    if _matches_empty(compiled):
        raise PatternRejected(
            "the expression can match the empty string, so it would match every line")


def _check_line_model(expression: str) -> None:
    """Refuse what RE2 accepts but the one-line model cannot honour consistently."""
    escaped = quoted = False
    for char in expression:
        if escaped:
            # Inside \Q...\E everything up to \E is literal text.
            if quoted:
                quoted = char != "E"
            elif char == "Q":
                quoted = True
            elif char in _LINE_ESCAPES:
                raise PatternRejected(_LINE_ESCAPES[char])
            escaped = False
        elif char == "\\":
            escaped = True
    if _TURNS_OFF_MULTILINE.search(expression):
        raise PatternRejected(
            "the `m` flag cannot be turned off: `^` and `$` always mean a line's start and end")


def _matches_empty(compiled: re2._Regexp) -> bool:
    for probe in _EMPTY_PROBES:
        text = probe.encode()
        for position in range(len(text) + 1):
            # A window of width zero, with the whole probe around it as context for ^ $ \b.
            if compiled.match(text, position, position) is not None:
                return True
    return False


def _message(error: re2.error) -> str:
    raw = error.args[0] if error.args else ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _reword(message: str, expression: str) -> str:
    kind, _, fragment = message.partition(": ")
    if kind == "invalid perl operator":
        # RE2 quotes as little as "(?P" for "(?P=name)": find the operator in the expression.
        for operator, name in _OPERATORS.items():
            if (operator.startswith(fragment) and operator in expression) or (
                    fragment.startswith(operator)):
                return f"{name} {_NOT_LINEAR}"
        return f"`{fragment}` is not a group or flag the linear-time engine knows"
    if kind == "invalid escape sequence":
        letter = fragment[1:2]
        if letter.isdigit():
            return f"the back-reference `{fragment}` {_NOT_LINEAR} (it needs backtracking)"
        if letter in _ESCAPES:
            return f"{_ESCAPES[letter]} {_NOT_LINEAR}"
        return f"`{fragment}` is not an escape the linear-time engine knows"
    if kind == "bad repetition operator" and fragment.endswith("+"):
        return f"the possessive quantifier `{fragment}` {_NOT_LINEAR}"
    if kind in ("bad repetition operator", "invalid nested repetition operator"):
        return f"the repetition `{fragment}` repeats a repetition; write it once"
    if kind == "invalid repetition size":
        return f"the repetition `{fragment}` is invalid or over the engine's limit of 1000"
    if kind.startswith("pattern too large"):
        return (f"the expression compiles past the engine's memory bound "
                f"({PATTERN_MAX_MEM // 1024} KiB); simplify it")
    if kind == "missing )":
        return "a `(` is not closed"
    if kind == "unexpected )":
        return "a `)` closes no group"
    if kind == "missing ]":
        return "a `[` character class is not closed"
    if kind == "trailing \\":
        return "the expression ends with a lone `\\`"
    if kind == "no argument for repetition operator":
        return f"the repetition `{fragment}` follows nothing"
    return f"not a regular expression the linear-time engine accepts: {message}"
