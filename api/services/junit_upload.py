"""Receiving JUnit files: one work budget per request, streaming decompression and parsing,
then one atomic attach.

A request's files are all parsed before anything is written, so one malformed file refuses
the whole request and the run is left exactly as it was.

Work per request is bounded across all its files, not per file (:class:`Limits`): the
decompressed bytes, the ``<testcase>`` elements and the number of files. Files are inflated
and parsed as streams, so the decompressed text is never held whole: memory follows the
parsed results, which the testcase budget bounds.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from api.domain import JunitFile, Run
from api.junit import TooManyTestcases, parse_junit
from api.services.errors import InvalidUpload
from api.services.ingest import Ingested, IngestObserver
from api.store import AttachedFile, NotFound, Store

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """The work one upload request may cause, across all of its files."""

    decompressed_bytes: int
    testcases: int
    parts: int

    @classmethod
    def per_file(cls, decompressed_bytes: int, files: int, testcases: int = 2_000_000) -> Limits:
        """A budget of ``decompressed_bytes`` for each of ``files`` files (the crawler's, which
        reads files it fetched itself rather than a client's request)."""
        files = max(files, 1)
        return cls(decompressed_bytes * files, testcases * files, files)


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    data: bytes | IO[bytes]  # as received; gzip is detected by its magic bytes


@dataclass(frozen=True, slots=True)
class AttachReport:
    file: JunitFile
    added: bool
    names_cut: int = 0  # test or suite names longer than api.names.TEST_NAME_MAX, cut


def too_large(limits: Limits) -> InvalidUpload:
    return InvalidUpload(
        "too_large", f"the request's files decompress to more than the limit of "
        f"{limits.decompressed_bytes} bytes (MAX_DECOMPRESSED_BYTES)",
        {"limit_bytes": limits.decompressed_bytes, "limit": "MAX_DECOMPRESSED_BYTES"})


class Budget:
    """What is left of a request's limits while its files are read."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.bytes_left = limits.decompressed_bytes
        self.cases_left = limits.testcases

    def spend_bytes(self, count: int) -> None:
        self.bytes_left -= count
        if self.bytes_left < 0:
            raise too_large(self.limits)


class _Decoded:
    """A binary stream of one upload's plain (gunzipped when gzip) bytes, charged to the
    request's budget and hashed as it is read; a gzip bomb costs one chunk of memory."""

    def __init__(self, upload: Upload, budget: Budget) -> None:
        self.name = upload.name
        source = upload.data
        self.raw: IO[bytes] | None = None
        self.buffer = b""
        if isinstance(source, bytes):
            self.buffer = source
        else:
            self.raw = source
        self.budget = budget
        self.digest = hashlib.sha256()
        head = self._take_raw(2)
        self.pending = head
        self.inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) \
            if head == GZIP_MAGIC else None

    def _take_raw(self, size: int) -> bytes:
        if self.raw is None:
            chunk, self.buffer = self.buffer[:size], self.buffer[size:]
            return chunk
        return self.raw.read(size)

    def _inflate(self, size: int) -> bytes:
        inflater = self.inflater
        assert inflater is not None
        try:
            while True:
                if inflater.eof:  # multi-member gzip: the next member starts in unused_data
                    rest = inflater.unused_data + self.pending
                    self.pending = b""
                    if not rest:
                        rest = self._take_raw(_CHUNK)
                    if not rest:
                        return b""
                    inflater = self.inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                    self.pending = rest
                data = self.pending or inflater.unconsumed_tail
                if not data:
                    data = self._take_raw(_CHUNK)
                    if not data:
                        if not inflater.eof:
                            raise InvalidUpload("invalid_encoding",
                                                f"{self.name}: truncated gzip data")
                        return b""
                self.pending = b""
                out = inflater.decompress(data, size)
                if out:
                    return out
        except zlib.error as err:
            raise InvalidUpload("invalid_encoding",
                                f"{self.name}: not valid gzip data ({err})") from None

    def read(self, size: int = _CHUNK) -> bytes:
        size = _CHUNK if size is None or size < 0 else max(1, min(size, _CHUNK))
        if self.inflater is not None:
            chunk = self._inflate(size)
        elif self.pending:
            chunk, self.pending = self.pending, b""
            if len(chunk) < size:
                chunk += self._take_raw(size - len(chunk))
        else:
            chunk = self._take_raw(size)
        self.budget.spend_bytes(len(chunk))
        self.digest.update(chunk)
        return chunk


def _claimed_size(upload: Upload) -> int:
    """The decompressed size a gzip upload's trailer claims (ISIZE of its last member, mod
    2**32), or 0 when it is not gzip or cannot be read without consuming a stream. A cheap
    early refusal of honest bombs only: a forged trailer still meets the streaming budget."""
    data = upload.data
    if isinstance(data, bytes):
        head, tail = data[:2], data[-4:]
    elif data.seekable():
        start = data.tell()
        head = data.read(2)
        size = data.seek(0, 2)
        data.seek(max(size - 4, 0))
        tail = data.read(4)
        data.seek(start)
    else:
        return 0
    if head != GZIP_MAGIC or len(tail) != 4:
        return 0
    return int.from_bytes(tail, "little")


def parse_upload(upload: Upload, budget: Budget) -> tuple[AttachedFile, int]:
    stream = _Decoded(upload, budget)
    try:
        parsed = parse_junit(stream, filename=upload.name,  # type: ignore[arg-type]
                             max_bytes=budget.limits.decompressed_bytes,
                             max_cases=budget.cases_left)
    except TooManyTestcases:
        limit = budget.limits.testcases
        raise InvalidUpload("too_large", f"the request's files have more than the limit of "
                            f"{limit} testcases (MAX_TESTCASES)",
                            {"limit_testcases": limit, "limit": "MAX_TESTCASES"}) from None
    budget.cases_left -= parsed.totals.tests
    return AttachedFile(JunitFile(upload.name, stream.digest.hexdigest(), len(parsed.tests)),
                        parsed.results()), parsed.names_cut


def check_request(store: Store, job: str, run_id: str, uploads: Sequence[Upload], *,
                  limits: Limits, what: str) -> None:
    """The checks before any file is read: some files, not too many, the run exists, and the
    sizes gzip trailers claim fit the budget. ``what`` names the files in the refusal."""
    if not uploads:
        raise InvalidUpload("no_files", f"no {what} in the request")
    if len(uploads) > limits.parts:
        raise InvalidUpload("too_many_parts", f"the request has {len(uploads)} files; the "
                            f"limit is {limits.parts} (MAX_PARTS)",
                            {"limit_parts": limits.parts, "limit": "MAX_PARTS"})
    if store.get_run(job, run_id) is None:
        raise NotFound(f"no run {run_id!r} of job {job!r}; PUT the run before attaching files")
    if sum(_claimed_size(upload) for upload in uploads) > limits.decompressed_bytes:
        raise too_large(limits)


def read_plain(upload: Upload, budget: Budget) -> tuple[bytes, str]:
    """An upload's whole plain (gunzipped) content and its SHA-256, charged to ``budget``:
    for the small JSON artifacts, which are parsed whole."""
    stream = _Decoded(upload, budget)
    chunks = []
    while chunk := stream.read():
        chunks.append(chunk)
    return b"".join(chunks), stream.digest.hexdigest()


def attach(store: Store, job: str, run_id: str, uploads: Sequence[Upload], *, limits: Limits,
           observer: IngestObserver | None = None) -> tuple[Run, list[AttachReport]]:
    """Parse every upload, then attach them in one step; files already attached are skipped.

    Raises :class:`InvalidUpload`, :class:`~api.junit.JunitParseError` or
    :class:`~api.store.NotFound` (no such run) before anything is stored.
    """
    check_request(store, job, run_id, uploads, limits=limits, what="JUnit file")
    budget = Budget(limits)
    parsed = [parse_upload(upload, budget) for upload in uploads]
    attached = [item for item, _ in parsed]
    run, added = store.attach_junit(job, run_id, attached)
    if observer is not None:
        new = [item for item, was_added in zip(attached, added, strict=True) if was_added]
        observer(Ingested(files=len(new), results=sum(len(item.tests) for item in new)))
    return run, [AttachReport(item.file, was_added, cut)
                 for (item, cut), was_added in zip(parsed, added, strict=True)]
