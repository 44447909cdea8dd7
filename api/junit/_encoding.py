"""The bytes fed to expat: bounded reads, and files in any encoding Python's codecs know.

Expat decodes UTF-8, UTF-16 (BE/LE), ISO-8859-1 and US-ASCII itself. For other declared names
pyexpat builds a table for single-byte codecs, refuses multi-byte ones (Shift_JIS, EUC-JP, GBK,
Big5: ``ValueError``) and raises ``LookupError`` for names it does not know; both used to escape
the parser as a 500. So the head of the file is sniffed (BOM first, then the XML declaration's
``encoding=``):

* a UTF-8 or UTF-16 BOM, no declared encoding, or a declared name expat knows itself: the bytes
  go to expat untouched (the common, fast path);
* a UTF-32 BOM, or any other declared name that Python knows as a text encoding: the chunks are
  transcoded to UTF-8 with an incremental decoder (memory stays proportional to one chunk) and
  the caller creates its parser with ``encoding="UTF-8"``, which makes expat ignore the
  declaration that still names the original encoding;
* a declared name Python does not know, or a codec that is not a text encoding (``rot13``):
  :class:`JunitParseError`, as are bytes the declared encoding cannot decode (a declaration that
  lies), naming the line where decoding failed.
"""

from __future__ import annotations

import codecs
import itertools
import re
import typing

from api.junit.model import JunitParseError

# What expat decodes itself (compared case-insensitively, as expat does).
_EXPAT_NATIVE = frozenset({"utf-8", "utf-16", "utf-16be", "utf-16le", "iso-8859-1", "us-ascii"})
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"'<>]{1,64})["']""")
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)  # before UTF-16: FF FE 00 00 vs FF FE
_NATIVE_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Other spellings ("utf8", "ascii") are not expat's, so those documents arrive transcoded.
_ESC_FREE_ENCODINGS = frozenset({"utf-8", "us-ascii"})
_READ_SIZE = 1 << 18
# Enough for a BOM and any sane XML declaration; a stream's first read is usually far larger.
_HEAD = 1024


def read_chunks(stream: typing.BinaryIO, filename: str, max_bytes: int) -> typing.Iterator[bytes]:
    total = 0
    while True:
        # Ask for one byte past the limit at most, so an endless stream is never drained.
        chunk = stream.read(min(_READ_SIZE, max_bytes - total + 1))
        if not chunk:
            return
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError("source stream must be opened in binary mode")
        total += len(chunk)
        if total > max_bytes:
            raise JunitParseError(filename, None, f"input exceeds the limit of {max_bytes} bytes")
        yield bytes(chunk)


def esc_tolerable(head: bytes) -> bool:
    """Whether raw ESC bytes may be rewritten: only in UTF-8 / ASCII documents."""
    if head.startswith(b"\xef\xbb\xbf"):
        return True
    if head[:2] in (b"\xfe\xff", b"\xff\xfe") or b"\x00" in head[:4]:
        return False  # UTF-16/32: 0x1B is not a character boundary there
    declared = _XML_ENCODING.match(head[:512])
    if declared is None:
        return True
    return declared.group(1).decode("ascii", "replace").strip().lower() in _ESC_FREE_ENCODINGS


def as_expat_input(
    chunks: typing.Iterable[bytes], filename: str
) -> tuple[typing.Iterator[bytes], bool]:
    """The chunks to feed expat, and whether they were transcoded to UTF-8 (then the parser must
    be created with ``encoding="UTF-8"``)."""
    iterator = iter(chunks)
    head = b""
    for chunk in iterator:
        head += chunk
        if len(head) >= _HEAD:
            break
    source = _source_encoding(head, filename)
    rest = _prepend(head, iterator)
    if source is None:
        return rest, False
    return _transcode(rest, source, filename), True


def _prepend(head: bytes, rest: typing.Iterator[bytes]) -> typing.Iterator[bytes]:
    if head:
        yield head
    yield from rest


def _source_encoding(head: bytes, filename: str) -> str | None:
    """The codec to transcode from, or ``None`` when expat reads the bytes itself."""
    if head.startswith(_UTF32_BOMS):
        return "utf-32"  # the codec reads the BOM and drops it
    if head.startswith(_NATIVE_BOMS):
        return None
    declared = _XML_ENCODING.match(head)
    if declared is None:
        return None
    name = declared.group(1).decode("ascii", "replace").strip()
    if name.lower() in _EXPAT_NATIVE:
        return None
    try:
        # bytes.decode refuses unknown names and codecs that are not text encodings (rot13)
        # alike; an empty input would skip the lookup, and one byte may be half a character.
        b" ".decode(name)
    except LookupError:
        raise JunitParseError(
            filename, 1, f"unknown encoding {name!r} in the XML declaration"
        ) from None
    except UnicodeDecodeError:
        pass
    return name


def _transcode(
    chunks: typing.Iterable[bytes], encoding: str, filename: str
) -> typing.Iterator[bytes]:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    line = 1
    pieces = itertools.chain(((chunk, False) for chunk in chunks), ((b"", True),))
    for data, final in pieces:
        try:
            text = decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            # exc.object is what the decoder held: this chunk, perhaps after a sequence left
            # unfinished by the previous one (so the line can be off by one at a chunk edge).
            bad = exc.object
            before = bad[: exc.start].decode(encoding, "replace").count("\n")
            what = f"byte 0x{bad[exc.start]:02X}" if exc.start < len(bad) else "end of input"
            raise JunitParseError(
                filename,
                line + before,
                f"{what} is not valid {encoding} (the XML declaration's encoding does not "
                "match the content?)",
            ) from None
        if text:
            line += text.count("\n")
            # A lone surrogate (UTF-7 can produce one) stays invalid UTF-8 for expat to refuse.
            yield text.encode("utf-8", "surrogatepass")
