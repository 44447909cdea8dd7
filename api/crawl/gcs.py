"""Reading a GCS bucket: listings and whole objects, retried, rate-limited, gzip decoded.

Objects may be stored gzip-encoded (``Content-Encoding: gzip``). Real GCS would decompress
them for us; the emulator returns the stored bytes, and a ``.gz`` artifact is compressed
whatever its metadata says. So every object is downloaded raw and decoded here when its
encoding says gzip *or* its first bytes are the gzip magic: one code path for both.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.crawl.retry import RateLimiter, RetryPolicy

GZIP_MAGIC = b"\x1f\x8b"


class TooLarge(ValueError):
    """An object (or its decompressed content) exceeds the size we are willing to hold."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str
    size: int
    content_encoding: str | None


def gunzip_capped(data: bytes, limit: int, *, name: str) -> bytes:
    """Decompress (multi-member) gzip, refusing more than ``limit`` bytes of output."""
    out = bytearray()
    remaining = data
    while remaining:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(remaining, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise TooLarge(f"{name}: more than {limit} bytes once decompressed")
            out += inflater.flush()
        except zlib.error as err:
            raise ValueError(f"{name}: not valid gzip data ({err})") from None
        remaining = inflater.unused_data
        if not inflater.eof:
            raise ValueError(f"{name}: truncated gzip data")
    return bytes(out)


def make_client(project: str | None = None) -> Any:
    """A storage client: anonymous against an emulator (``STORAGE_EMULATOR_HOST``) or when no
    credentials are configured (public buckets such as kubernetes-jenkins)."""
    # Imported as a module path: google-cloud-storage ships no type information, and mypy
    # rejects `from google.cloud import storage` once the typed google.auth shares the namespace.
    import google.cloud.storage as storage
    from google.auth.credentials import AnonymousCredentials

    if os.environ.get("STORAGE_EMULATOR_HOST") or os.environ.get("FLAKEGATE_GCS_ANONYMOUS"):
        return storage.Client(project=project or "flakegate",
                              credentials=AnonymousCredentials())
    try:
        return storage.Client(project=project)
    except Exception:  # no application default credentials: public buckets still work
        return storage.Client.create_anonymous_client()


class GcsReader:
    """Thread-safe reads: one storage client per thread (their HTTP sessions are not shared),
    one rate limiter and retry policy for all."""

    def __init__(self, *, retry: RetryPolicy | None = None, limiter: RateLimiter | None = None,
                 client_factory: Callable[[], Any] = make_client) -> None:
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter(0)
        self._factory = client_factory
        self._local = threading.local()
        self.requests = 0  # for the summary and the benchmark; a race only blurs a count

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
        return client

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        def attempt() -> Any:
            self.limiter.acquire()
            self.requests += 1
            return fn()

        return self.retry.call(attempt, what=what)

    def list_dirs(self, bucket: str, prefix: str) -> list[str]:
        """The "sub-folders" directly under ``prefix`` (which ends with ``/``), sorted."""
        def run() -> list[str]:
            iterator = self._client().list_blobs(bucket, prefix=prefix, delimiter="/")
            for _ in iterator:  # the emulator (and the API) fill .prefixes only as pages load
                pass
            return sorted(iterator.prefixes)

        return self._call(run, f"list gs://{bucket}/{prefix}")

    def list_objects(self, bucket: str, prefix: str,
                     *, recursive: bool = True) -> list[ObjectInfo]:
        def run() -> list[ObjectInfo]:
            kwargs: dict[str, Any] = {"prefix": prefix}
            if not recursive:
                kwargs["delimiter"] = "/"
            return [ObjectInfo(blob.name, int(blob.size or 0), blob.content_encoding)
                    for blob in self._client().list_blobs(bucket, **kwargs)]

        return self._call(run, f"list gs://{bucket}/{prefix}")

    def read_raw(self, bucket: str, name: str, *, start: int | None = None,
                 end: int | None = None) -> bytes | None:
        """The stored bytes (still compressed if stored so), or ``None`` if there is no such
        object. ``start``/``end`` (inclusive) read a byte range."""
        from google.api_core.exceptions import NotFound

        def run() -> bytes | None:
            blob = self._client().bucket(bucket).blob(name)
            try:
                return blob.download_as_bytes(raw_download=True, start=start, end=end,
                                              checksum=None)
            except NotFound:
                return None

        return self._call(run, f"read gs://{bucket}/{name}")

    def read(self, bucket: str, name: str, *, limit: int) -> bytes | None:
        """The object's content, decoded from gzip, or ``None`` if absent. Raises
        :class:`TooLarge` beyond ``limit`` bytes (decoded)."""
        data = self.read_raw(bucket, name)
        if data is None:
            return None
        if data[:2] == GZIP_MAGIC:
            return gunzip_capped(data, limit, name=name)
        if len(data) > limit:
            raise TooLarge(f"{name}: {len(data)} bytes, more than the limit of {limit}")
        return data
