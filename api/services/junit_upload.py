"""Receiving JUnit files: bounded decompression, parse everything first, then one atomic attach.

A request's files are all parsed before anything is written, so one malformed file refuses
the whole request and the run is left exactly as it was.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from api.domain import JunitFile, Run
from api.junit import parse_junit
from api.services.errors import InvalidUpload
from api.services.ingest import Ingested, IngestObserver
from api.store import AttachedFile, NotFound, Store

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    data: bytes  # as received; gzip is detected by its magic bytes


@dataclass(frozen=True, slots=True)
class AttachReport:
    file: JunitFile
    added: bool


def gunzip_bounded(data: bytes, limit: int, *, name: str) -> bytes:
    """Decompress (possibly multi-member) gzip without ever holding more than ``limit`` bytes,
    so a gzip bomb costs us ``limit`` bytes of memory at most."""
    out = bytearray()
    remaining = data
    while remaining:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            pending = remaining
            while pending:
                out += inflater.decompress(pending, limit + 1 - len(out))
                if len(out) > limit:
                    raise InvalidUpload("too_large", f"{name}: decompressed size exceeds the "
                                        f"limit of {limit} bytes", {"limit_bytes": limit})
                pending = inflater.unconsumed_tail
            out += inflater.flush()
        except zlib.error as err:
            raise InvalidUpload("invalid_encoding",
                                f"{name}: not valid gzip data ({err})") from None
        if len(out) > limit:
            raise InvalidUpload("too_large", f"{name}: decompressed size exceeds the limit of "
                                f"{limit} bytes", {"limit_bytes": limit})
        remaining = inflater.unused_data
        if not inflater.eof:
            raise InvalidUpload("invalid_encoding", f"{name}: truncated gzip data")
    return bytes(out)


def decode(upload: Upload, limit: int) -> Upload:
    if upload.data[:2] == GZIP_MAGIC:
        return Upload(upload.name, gunzip_bounded(upload.data, limit, name=upload.name))
    return upload


def attach(store: Store, job: str, run_id: str, uploads: Sequence[Upload], *, limit: int,
           observer: IngestObserver | None = None) -> tuple[Run, list[AttachReport]]:
    """Parse every upload, then attach them in one step; files already attached are skipped.

    Raises :class:`InvalidUpload`, :class:`~api.junit.JunitParseError` or
    :class:`~api.store.NotFound` (no such run) before anything is stored.
    """
    if not uploads:
        raise InvalidUpload("no_files", "no JUnit file in the request")
    if store.get_run(job, run_id) is None:
        raise NotFound(f"no run {run_id!r} of job {job!r}; PUT the run before attaching files")
    attached: list[AttachedFile] = []
    for upload in uploads:
        plain = decode(upload, limit)
        parsed = parse_junit(plain.data, filename=plain.name)
        digest = hashlib.sha256(plain.data).hexdigest()
        attached.append(AttachedFile(JunitFile(plain.name, digest, len(parsed.tests)),
                                     parsed.results()))
    run, added = store.attach_junit(job, run_id, attached)
    if observer is not None:
        new = [item for item, was_added in zip(attached, added, strict=True) if was_added]
        observer(Ingested(files=len(new), results=sum(len(item.tests) for item in new)))
    return run, [AttachReport(item.file, was_added)
                 for item, was_added in zip(attached, added, strict=True)]
