"""Receiving JUnit files: bounded decompression, parse everything first, then one atomic attach.

A request's files are all parsed before anything is written, so one malformed file refuses
the whole request and the run is left exactly as it was.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from api import metrics
from api.domain import JunitFile, Run
from api.errors import ApiError
from api.junit import parse_junit
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
                    raise ApiError(413, f"{name}: decompressed size exceeds the limit of "
                                        f"{limit} bytes", details={"limit_bytes": limit})
                pending = inflater.unconsumed_tail
            out += inflater.flush()
        except zlib.error as err:
            raise ApiError(400, f"{name}: not valid gzip data ({err})",
                           code="invalid_encoding") from None
        if len(out) > limit:
            raise ApiError(413, f"{name}: decompressed size exceeds the limit of {limit} bytes",
                           details={"limit_bytes": limit})
        remaining = inflater.unused_data
        if not inflater.eof:
            raise ApiError(400, f"{name}: truncated gzip data", code="invalid_encoding")
    return bytes(out)


def decode(upload: Upload, limit: int) -> Upload:
    if upload.data[:2] == GZIP_MAGIC:
        return Upload(upload.name, gunzip_bounded(upload.data, limit, name=upload.name))
    return upload


def attach(store: Store, job: str, run_id: str, uploads: Sequence[Upload],
           *, limit: int) -> tuple[Run, list[AttachReport]]:
    if not uploads:
        raise ApiError(400, "no JUnit file in the request", code="no_files")
    if store.get_run(job, run_id) is None:
        raise NotFound(f"no run {run_id!r} of job {job!r}; PUT the run before attaching files")
    attached: list[AttachedFile] = []
    for upload in uploads:
        plain = decode(upload, limit)
        parsed = parse_junit(plain.data, filename=plain.name)
        digest = hashlib.sha256(plain.data).hexdigest()
        attached.append(AttachedFile(JunitFile(plain.name, digest, len(parsed.tests)),
                                     parsed.tests))
    run, added = store.attach_junit(job, run_id, attached)
    for item, was_added in zip(attached, added, strict=True):
        if was_added:
            metrics.INGESTED_FILES.inc()
            metrics.INGESTED_RESULTS.inc(len(item.tests))
    return run, [AttachReport(item.file, was_added)
                 for item, was_added in zip(attached, added, strict=True)]
