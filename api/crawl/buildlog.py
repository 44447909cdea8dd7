"""Deprecated (issue 13: the store keeps build and step logs, see ``steplogs.py``): keeping a
build's ``build-log.txt`` as a gzip-compressed, capped file under a directory configured
explicitly (``--build-log-dir``), its path recorded in the run's metadata.

Why a file: the store's schema has no place for blobs (and must not change for this), and run
metadata values are short strings. Why capped at head + tail: a failure is explained at the
start (set-up) or at the end (the error), rarely in the middle of a multi-megabyte log.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from api.crawl.gcs import GZIP_MAGIC, GcsReader, ObjectInfo

DEFAULT_MAX_BYTES = 1024 * 1024
#: A stored (compressed) log above this is not downloaded at all.
RAW_HARD_LIMIT = 64 * 1024 * 1024
_MARK = b"\n... [%d bytes of build-log.txt omitted] ...\n"


@dataclass(frozen=True, slots=True)
class BuildLogPolicy:
    directory: Path | None  # None: logs are not kept
    max_bytes: int = DEFAULT_MAX_BYTES


def head_tail(chunks: list[bytes] | bytes, max_bytes: int) -> tuple[bytes, int]:
    data = chunks if isinstance(chunks, bytes) else b"".join(chunks)
    if len(data) <= max_bytes:
        return data, len(data)
    half = max_bytes // 2
    return data[:half] + _MARK % (len(data) - 2 * half) + data[-half:], len(data)


def _gunzip_head_tail(raw: bytes, max_bytes: int) -> tuple[bytes, int]:
    """Decompress streaming, keeping only the first and last ``max_bytes/2`` bytes."""
    half = max_bytes // 2
    head = bytearray()
    tail = bytearray()
    total = 0
    remaining = raw

    def consume(piece: bytes) -> None:
        nonlocal total
        total += len(piece)
        room = half - len(head)
        if room > 0:
            head.extend(piece[:room])
            piece = piece[room:]
        tail.extend(piece)
        if len(tail) > half:
            del tail[: len(tail) - half]

    while remaining:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = remaining
        while True:
            consume(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
            if inflater.eof or not pending:
                break
        if not inflater.eof:  # a truncated log is still worth its readable part
            consume(inflater.flush())
            break
        remaining = inflater.unused_data
    if total <= max_bytes:
        return bytes(head + tail), total
    return bytes(head) + _MARK % (total - len(head) - len(tail)) + bytes(tail), total


def keep_build_log(reader: GcsReader, bucket: str, build_path: str, obj: ObjectInfo,
                   policy: BuildLogPolicy) -> dict[str, str]:
    """Fetch, cap, compress and write the log; returns the metadata to record (a note
    instead of a path when it could not be kept)."""
    if policy.directory is None:
        return {}
    if obj.size > RAW_HARD_LIMIT and obj.content_encoding == "gzip":
        return {"build_log.note": f"not kept: {obj.size} compressed bytes"}
    if obj.content_encoding != "gzip" and obj.size > policy.max_bytes:
        half = policy.max_bytes // 2  # two ranged reads instead of the whole object
        head = reader.read_raw(bucket, obj.name, start=0, end=half - 1) or b""
        tail = reader.read_raw(bucket, obj.name, start=obj.size - half, end=obj.size - 1) or b""
        if head[:2] == GZIP_MAGIC:  # compressed without saying so: read it all after all
            text, total = _gunzip_head_tail(reader.read_raw(bucket, obj.name) or b"",
                                            policy.max_bytes)
        else:
            text, total = head + _MARK % (obj.size - len(head) - len(tail)) + tail, obj.size
    else:
        raw = reader.read_raw(bucket, obj.name) or b""
        if raw[:2] == GZIP_MAGIC:
            try:
                text, total = _gunzip_head_tail(raw, policy.max_bytes)
            except zlib.error as err:
                return {"build_log.note": f"not kept: bad gzip data ({err})"}
        else:
            text, total = head_tail(raw, policy.max_bytes)
    parts = [p for p in f"{bucket}/{build_path}".split("/") if p not in ("", ".", "..")]
    target = policy.directory.joinpath(*parts, "build-log.txt.gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(f".tmp{os.getpid()}")
    temp.write_bytes(gzip.compress(text, compresslevel=6, mtime=0))
    os.replace(temp, target)  # atomic: a reader never sees half a file
    meta = {"build_log.path": str(target), "build_log.bytes": str(total)}
    if total > policy.max_bytes:
        meta["build_log.truncated"] = "true"
    return meta
