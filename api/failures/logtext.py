"""A build log as flakegate stores it: plain text, bounded, without terminal escapes. Pure.

:func:`prepare` turns the bytes a client or the crawler sends into :class:`LogText`:

1. **Inflate**: gzip is recognised by its magic bytes (with or without ``Content-Encoding``;
   several members in a row are one stream) and inflated chunk by chunk; more than
   ``max_inflated`` plain bytes raise :class:`LogTooLarge`, so a gzip bomb costs one chunk.
2. **Bound** (SPEC §10, issue 13): a log over ``max_bytes`` (``FLAKEGATE_MAX_LOG_BYTES``,
   64 MiB by default) keeps its head and its tail, each cut at a line boundary, joined by one
   marker line that says how much was left out; memory stays at about ``max_bytes`` whatever
   the input's size. The tail matters most (failures are reported last), the head says what
   ran.
3. **Decode** as UTF-8, an invalid byte becoming U+FFFD rather than refusing the log.
4. **Strip terminal escapes**: CSI (colours, cursor moves), OSC (titles, hyperlinks, ended by
   BEL or ST), character-set designations and any other or lone ESC.
5. **Lines**: ``\\r\\n`` and a lone ``\\r`` (a progress bar's redraw) become ``\\n``, so that
   every reader numbers lines alike: lines are separated by ``\\n`` only, numbered from 1.
   A line longer than :data:`MAX_LINE_CHARS` keeps its last 5,000 characters, the failure
   tracker's rule (the end of a long line is where an error message is); the count of cut
   lines is recorded.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b"
MAX_LINE_CHARS = 5000
DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 20

# After ESC: CSI ``[`` params intermediates final; OSC ``]`` ... (BEL | ESC \\), never past a
# line; designations such as ``( B``; any other two-character escape; or nothing (a lone ESC).
# One literal prefix, so the engine skips to each ESC instead of trying every position.
_ESCAPES = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]"
    r"|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
    r"|[()*+\-./][ -~]"
    r"|[ -/]*[0-~])?")
_C1_CSI = re.compile(r"\x9b[0-?]*[ -/]*[@-~]")
_NEWLINES = re.compile(r"\r\n?")


class LogTooLarge(ValueError):
    """The log inflates to more than the allowed number of plain bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the log inflates to more than {limit} bytes")
        self.limit = limit


class InvalidGzip(ValueError):
    """The body starts like gzip but is not valid (or is truncated) gzip data."""


@dataclass(frozen=True, slots=True)
class LogText:
    """A prepared log and what preparing it did.

    ``received_bytes``: plain (inflated) bytes received; ``omitted_bytes``: left out between
    head and tail (0 when the log fitted), ``omitted_lines`` the line breaks among them;
    ``cut_lines``:
    lines cut to their last :data:`MAX_LINE_CHARS` characters.
    """

    text: str
    received_bytes: int
    omitted_bytes: int = 0
    omitted_lines: int = 0
    cut_lines: int = 0

    @property
    def truncated(self) -> bool:
        return self.omitted_bytes > 0

    @property
    def lines(self) -> int:
        return count_lines(self.text)


def count_lines(text: str) -> int:
    """Lines of ``text`` separated by ``\\n``; a final ``\\n`` ends the last line."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def strip_escapes(text: str) -> str:
    """``text`` without terminal escape sequences (colours, titles, charsets, lone ESC)."""
    if "\x1b" in text:
        text = _ESCAPES.sub("", text)
    if "\x9b" in text:
        text = _C1_CSI.sub("", text)
    return text


def cut_long_lines(text: str, limit: int = MAX_LINE_CHARS) -> tuple[str, int]:
    """Each line longer than ``limit`` characters cut to its last ``limit``; and how many."""
    lines = text.split("\n")
    if max(map(len, lines)) <= limit:  # the common case: one pass in C, nothing rebuilt
        return text, 0
    cut = 0
    for index, line in enumerate(lines):
        if len(line) > limit:
            lines[index] = line[-limit:]
            cut += 1
    return "\n".join(lines), cut


def inflate(chunks: Iterable[bytes], max_inflated: int) -> Iterator[bytes]:
    """The plain bytes of ``chunks``: gunzipped when they start with gzip's magic bytes.

    Raises :class:`LogTooLarge` past ``max_inflated`` plain bytes and :class:`InvalidGzip` for
    corrupt or truncated gzip data.
    """
    source = iter(chunks)
    first = b""
    for chunk in source:
        first += chunk
        if len(first) >= 2:
            break
    total = 0

    def charge(data: bytes) -> bytes:
        nonlocal total
        total += len(data)
        if total > max_inflated:
            raise LogTooLarge(max_inflated)
        return data

    if not first.startswith(GZIP_MAGIC):
        if first:
            yield charge(first)
        for chunk in source:
            yield charge(chunk)
        return
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    pending = first
    try:
        while True:
            if not pending:
                pending = next(source, b"")
                if not pending:
                    break
            out = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if out:
                yield charge(out)
            if inflater.eof:
                # Another gzip member may follow (``cat a.gz b.gz`` is valid gzip).
                pending = inflater.unused_data + pending
                if not pending:
                    pending = next(source, b"")
                    if not pending:
                        return
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    except zlib.error as err:
        raise InvalidGzip(f"not valid gzip data ({err})") from None
    if not inflater.eof:
        raise InvalidGzip("truncated gzip data")


@dataclass(frozen=True, slots=True)
class _Bounded:
    data: bytes
    received: int
    omitted_bytes: int
    omitted_lines: int


def bound(chunks: Iterable[bytes], max_bytes: int) -> _Bounded:
    """The bytes of ``chunks`` if they fit ``max_bytes``, else the head and the tail (each
    about half of it, cut at line boundaries) joined by a marker line; memory ~ max_bytes."""
    head_limit = max_bytes // 2
    tail_limit = max_bytes - head_limit
    head = bytearray()
    tail = bytearray()
    dropped = dropped_newlines = received = 0
    for chunk in chunks:
        received += len(chunk)
        if len(head) < head_limit:
            room = head_limit - len(head)
            head += chunk[:room]
            chunk = chunk[room:]
        tail += chunk
        if len(tail) > 2 * tail_limit:  # amortised: trim only when twice the size
            excess = len(tail) - tail_limit
            dropped += excess
            dropped_newlines += tail.count(b"\n", 0, excess)
            del tail[:excess]
    if dropped == 0 and received <= max_bytes:
        return _Bounded(bytes(head + tail), received, 0, 0)
    if len(tail) > tail_limit:
        excess = len(tail) - tail_limit
        dropped += excess
        dropped_newlines += tail.count(b"\n", 0, excess)
        del tail[:excess]
    # Whole lines only: the head's unfinished last line and the tail's first partial line go.
    head_end = head.rfind(b"\n") + 1
    tail_start = tail.find(b"\n") + 1 if dropped else 0
    omitted = (len(head) - head_end) + dropped + tail_start
    omitted_lines = dropped_newlines + (1 if tail_start else 0)
    marker = (f"[flakegate: {omitted} bytes ({omitted_lines} lines) left out here: the log has "
              f"{received} bytes, over the limit of {max_bytes} (FLAKEGATE_MAX_LOG_BYTES); "
              "its head and tail are kept]\n").encode()
    return _Bounded(bytes(head[:head_end]) + marker + bytes(tail[tail_start:]), received,
                    omitted, omitted_lines)


def prepare(data: bytes | Iterable[bytes], *, max_bytes: int = DEFAULT_MAX_LOG_BYTES,
            max_inflated: int | None = None) -> LogText:
    """The stored form of a log received as bytes or chunks of bytes (see the module doc).

    ``max_inflated`` bounds the plain bytes read (default: unbounded beyond ``max_bytes``'s
    memory bound); raises :class:`LogTooLarge` or :class:`InvalidGzip`.
    """
    if max_bytes < 2:
        raise ValueError(f"max_bytes must be at least 2, got {max_bytes}")
    chunks = [data] if isinstance(data, bytes | bytearray) else data
    limit = max_inflated if max_inflated is not None else 2**63
    bounded = bound(inflate(chunks, limit), max_bytes)
    text = strip_escapes(bounded.data.decode("utf-8", errors="replace"))
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    text, cut = cut_long_lines(text)
    return LogText(text=text, received_bytes=bounded.received,
                   omitted_bytes=bounded.omitted_bytes, omitted_lines=bounded.omitted_lines,
                   cut_lines=cut)


def line_range(text: str, first: int, last: int) -> str:
    """Lines ``first`` to ``last`` (1-based, inclusive; clamped to the log) of ``text``."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    chosen = lines[max(first, 1) - 1:max(last, 0)]
    return "".join(line + "\n" for line in chosen)
