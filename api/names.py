"""The one rule for names, wherever they come from (JSON bodies, paths, JUnit files). Pure.

Test and suite names
    Real suites have long names (924 characters in a CIS benchmark report), so a test name is
    never refused for its length: one longer than :data:`TEST_NAME_MAX` characters is cut
    deterministically by :func:`cut_test_name` to its head plus a short hash of the whole, so
    two long names that share a head stay distinct, the same name always cuts the same way and
    the cut name is itself a valid name that every endpoint (``loosen`` included) accepts.

Job, run and payload names
    They travel in URL paths, so they are bounded in characters AND in UTF-8 bytes: percent-
    encoded, a name takes at most ``3 * NAME_MAX_BYTES`` bytes of a request line, and a job, a
    run and a JUnit ``filename`` together stay below the server's ``limit_request_line``
    (:data:`REQUEST_LINE_LIMIT`). They refuse control characters, and the bidi and zero-width
    characters that make two different names look the same (Trojan Source, CVE-2021-42574).
"""

from __future__ import annotations

import hashlib
import re

TEST_NAME_MAX = 4096
NAME_MAX = 512
NAME_MAX_BYTES = 1024
FILENAME_MAX = 512
FILENAME_MAX_BYTES = 512
# gunicorn's largest request line; set by ``flakegate serve``. The longest URL built from
# names is a JUnit upload: /jobs/JOB/runs/RUN/junit?filename=FILE, each percent-encoded.
REQUEST_LINE_LIMIT = 8190

_CONTROL = "\x00-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_ZERO_WIDTH = "\u200b-\u200d\u2060\ufeff"

PRINTABLE = re.compile(f"^[^{_CONTROL}{_SURROGATES}]*$")
"""Printable text: no C0/C1 control characters and no lone surrogates (test names, URLs)."""
PLAIN = re.compile(f"^[^{_CONTROL}{_SURROGATES}{_BIDI}{_ZERO_WIDTH}]*$")
"""Job, run and payload names: printable, and no bidi or zero-width characters."""
FILENAME = re.compile(f"^[^{_CONTROL}{_SURROGATES}{_BIDI}{_ZERO_WIDTH}\\\\]*$")

PRINTABLE_RULE = "must be printable text (no control characters or lone surrogates)"
PLAIN_RULE = ("must be printable text (no control characters, lone surrogates, bidi or "
              "zero-width characters)")
FILENAME_RULE = f"{PLAIN_RULE[:-1]}, or backslashes)"


_HASH_HEX = 12


def cut_test_name(name: str) -> tuple[str, bool]:
    """``name`` if it fits :data:`TEST_NAME_MAX`, else its head and a hash of the whole (the
    result is exactly TEST_NAME_MAX characters); the flag says whether it was cut."""
    if len(name) <= TEST_NAME_MAX:
        return name, False
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_HEX]
    tail = f"…[sha256:{digest}]"
    return name[:TEST_NAME_MAX - len(tail)] + tail, True


def name_problem(value: str) -> str | None:
    """Why ``value`` is not a job, run or payload name, or ``None`` if it is one."""
    if not 1 <= len(value) <= NAME_MAX:
        return f"must be 1 to {NAME_MAX} characters"
    if not PLAIN.match(value):
        return PLAIN_RULE
    if len(value.encode("utf-8")) > NAME_MAX_BYTES:
        return f"must be at most {NAME_MAX_BYTES} bytes in UTF-8"
    return None


def filename_problem(value: str) -> str | None:
    """Why ``value`` is not an uploaded JUnit file's name, or ``None`` if it is one.

    ``/`` is allowed: the crawler and ``flakegate upload`` name files by their path
    (``artifacts/junit_e2e.xml``, or an absolute one for a file outside the working directory),
    which tells apart two files of one base name. The server never opens a file by this name:
    it is a label, so only what could deceive or break where it is shown is refused."""
    if not 1 <= len(value) <= FILENAME_MAX:
        return f"must be 1 to {FILENAME_MAX} characters"
    if not FILENAME.match(value):
        return FILENAME_RULE
    if len(value.encode("utf-8")) > FILENAME_MAX_BYTES:
        return f"must be at most {FILENAME_MAX_BYTES} bytes in UTF-8"
    return None


def longest_upload_line() -> int:
    """The longest request line a JUnit upload with valid names can need (percent-encoded)."""
    return len("POST /jobs//runs//junit?filename= HTTP/1.1") + 3 * (
        2 * NAME_MAX_BYTES + FILENAME_MAX_BYTES)
