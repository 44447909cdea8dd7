"""Value clean-up for the JUnit parser: durations, failure texts, ``status=`` attributes.

Kept apart from :mod:`api.junit.parser` so that the hot loop there stays short; everything here
runs either once per testcase on a cheap path or only for the rare failing / odd case.
"""

from __future__ import annotations

import math
import re

from api.domain import TestStatus

# Go's encoding/xml writes an ESC it may not emit as U+FFFD, so "\ufffd[1m" is what Ginkgo and
# go-junit-report files really contain, and the parser rewrites raw ESC bytes the same way (see
# parser._esc_tolerable); a literal ESC or the 8-bit CSI can still come through a text decoder.
# The two-character escapes (ESC 7, ESC M ...) are only recognised after a real ESC: after U+FFFD
# they would be indistinguishable from mojibake followed by a letter.
_ANSI = re.compile(
    r"(?:[\x1b\ufffd]\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|[\x1b\ufffd]\][^\x07\x1b\ufffd]*(?:\x07|[\x1b\ufffd]\\)"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # the remaining two-character escapes
)
_ANSI_START = ("\x1b", "\ufffd[", "\ufffd]", "\x9b")

# Only the unambiguous en-US grouping (as Maven surefire's locale-dependent formatter writes for
# runs over 1000 s) is accepted: "1,234" could as well be a decimal comma meaning 1.234.
_GROUPED_SECONDS = re.compile(r"\s*\d{1,3}(?:,\d{3})+\.\d+\s*")


def strip_ansi(text: str) -> str:
    if any(marker in text for marker in _ANSI_START):
        return _ANSI.sub("", text)
    return text


def parse_seconds(value: str) -> float | None:
    """A ``time=`` value in seconds, or ``None`` when it is not a usable duration.

    The caller has already tried ``float()`` on the fast path; this handles what that refused or
    what makes no sense as a duration (negative, NaN, infinite).
    """
    try:
        seconds = float(value)
    except ValueError:
        if not _GROUPED_SECONDS.fullmatch(value):
            return None
        seconds = float(value.replace(",", ""))
    return seconds if 0.0 <= seconds < math.inf else None


def compose_message(attribute: str | None, text: str) -> str | None:
    """The failure text of one result element: its ``message`` attribute plus its body.

    Both are kept when both are present, except when the body already repeats the attribute (a
    Java stack trace starts with the exception message): the duplicate would only eat into the
    64 KiB budget.
    """
    text = text.strip()
    attribute = attribute.strip() if attribute else ""
    if attribute and text and attribute not in text:
        combined = f"{attribute}\n{text}"
    else:
        combined = text or attribute
    return strip_ansi(combined) if combined else None


# What a ``status=`` attribute says, for the dialects that write one (Ginkgo v2, Bazel/gtest,
# tst, CTest, Catch2, NUnit-converted files ...). ``PASSED`` entries change nothing; they are
# listed so that the common values are found on the first, exact lookup.
STATUS_ATTRIBUTE: dict[str, TestStatus] = {}
for _status, _spellings in (
    (TestStatus.PASSED, "passed pass success successful succeeded ok run completed executed"),
    (
        TestStatus.SKIPPED,
        "skipped skip disabled notrun pending ignored ignore excluded inconclusive",
    ),
    (TestStatus.FAILED, "failed failure fail"),
    (TestStatus.ERROR, "error errored broken panicked interrupted timedout timeout aborted"),
):
    for _spelling in _spellings.split():
        STATUS_ATTRIBUTE[_spelling] = _status
        STATUS_ATTRIBUTE[_spelling.upper()] = _status
        STATUS_ATTRIBUTE[_spelling.capitalize()] = _status

_SPELLING_NOISE = str.maketrans("", "", " _-\t")


def status_from_attribute(value: str) -> TestStatus | None:
    """The slow path for unusual spellings: "Not Run", "not_run", "TIMED-OUT" ..."""
    return STATUS_ATTRIBUTE.get(value.lower().translate(_SPELLING_NOISE))


def parse_count(value: str | None) -> int | None:
    """A count attribute on a suite element; writers sometimes emit "3.0" or garbage."""
    if value is None:
        return None
    try:
        count = int(value)
    except ValueError:
        try:
            as_float = float(value)
        except ValueError:
            return None
        if not as_float.is_integer():
            return None
        count = int(as_float)
    return count if count >= 0 else None
