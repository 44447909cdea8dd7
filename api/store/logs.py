"""The store part for build logs (issue 13, SPEC §10): one log per (job, run, step).

Contract (``tests/store/test_contract_logs.py`` runs it on every backend):

* **Stored as given.** ``put_log`` stores the text it is given (already prepared by
  :func:`api.failures.logtext.prepare`: escapes stripped, bounded) compressed, and ``get_log``
  returns exactly that text. Lines are separated by ``\\n`` only.
* **Idempotent by content.** A log is identified by the SHA-256 of its UTF-8 text: putting the
  same text again for the same step returns ``WriteOutcome.UNCHANGED`` and changes nothing
  (not even ``stored_at`` or the meta); a different text replaces the step's log
  (``UPDATED``), atomically: a reader sees the old log or the new one, never a mix.
* **Runs own their logs.** ``put_log`` on a run that does not exist raises
  :class:`~api.store.base.NotFound`; deleting a run deletes its logs, and a run put again
  afterwards has none.
* **Listing and walking.** ``list_logs`` lists a run's logs by step name, without their texts.
  ``logs_page`` walks every stored log in ``(job, run_id, step)`` order, a page at a time,
  without texts, optionally only those of one job and of runs created at or after ``since``
  (for scanners); its cursor is opaque (a bad one raises
  :class:`~api.store.base.InvalidCursor`). ``get_texts`` fetches many texts in one call
  (missing keys are absent from the result).
* **Limits.** SQLite keeps a log in one compressed BLOB (SQLite allows 1 GB; the default
  64 MiB bound compresses to a few MiB). BigQuery keeps the compressed bytes in rows of at
  most :data:`CHUNK_BYTES` (query results carry rows of up to 10 MB, load jobs up to 100 MB),
  so any log the API accepts fits.
"""

from __future__ import annotations

import abc
import hashlib
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from isal import isal_zlib

from api.domain import Page, RunStatus, WriteOutcome
from api.failures.logtext import count_lines

CHUNK_BYTES = 1024 * 1024
# zlib level 6. On the generated corpus (bench/log_corpus.py) it shrinks logs 6.4x at about
# 20 MB/s; level 1 gives 5.1x at about 39 MB/s. A log is written once and kept for months, so
# the smaller one wins; inflating runs at over 200 MB/s either way.
_LEVEL = 6
# Logs are inflated far more often than deflated (every scan of a new pattern reads the whole
# history): ISA-L reads the same zlib streams about twice as fast as zlib (0.21 s against
# 0.41 s for the 10,000 logs of bench/scan_incremental.py), which is most of what an
# incremental scan costs. The stored format stays plain zlib, readable by anything.

LogKey = tuple[str, str, str]
"""``(job, run_id, step)``."""


@dataclass(frozen=True, slots=True)
class LogMeta:
    """What preparing a log did, and where it came from (see :class:`~api.failures.logtext.
    LogText`): plain bytes received, bytes and line breaks left out between head and tail,
    lines cut to their last 5,000 characters; ``source`` is free text (``api``, a URL)."""

    received_bytes: int = 0
    omitted_bytes: int = 0
    omitted_lines: int = 0
    cut_lines: int = 0
    source: str = ""

    @property
    def truncated(self) -> bool:
        return self.omitted_bytes > 0


@dataclass(frozen=True, slots=True)
class LogInfo:
    """A stored log without its text: ``size`` is its UTF-8 bytes, ``lines`` its lines."""

    job: str
    run_id: str
    step: str
    sha256: str
    size: int
    lines: int
    meta: LogMeta
    stored_at: datetime

    @property
    def truncated(self) -> bool:
        return self.meta.truncated


@dataclass(frozen=True, slots=True)
class StoredLog:
    """A stored log and its text."""

    info: LogInfo
    text: str

    @property
    def truncated(self) -> bool:
        return self.info.meta.truncated


@dataclass(frozen=True, slots=True)
class LogRef:
    """One item of :meth:`LogStore.logs_page`: a stored log's key and its run's state."""

    job: str
    run_id: str
    step: str
    run_status: RunStatus
    run_created: datetime
    stored_at: datetime
    size: int = 0  # the text's UTF-8 bytes: a scanner bounds the texts it holds at once


@dataclass(frozen=True, slots=True)
class Packed:
    """A log's text as both backends store it: compressed, hashed and counted."""

    data: bytes
    sha256: str
    size: int
    lines: int

    @classmethod
    def of(cls, text: str) -> Packed:
        raw = text.encode("utf-8", "surrogatepass")
        return cls(zlib.compress(raw, _LEVEL), hashlib.sha256(raw).hexdigest(), len(raw),
                   count_lines(text))


def unpack(data: bytes) -> str:
    return isal_zlib.decompress(data).decode("utf-8", "surrogatepass")


class LogStore(abc.ABC):
    """Build logs of runs' steps; see the module docstring for the contract."""

    @abc.abstractmethod
    def put_log(self, job: str, run_id: str, step: str, text: str,
                meta: LogMeta = LogMeta()) -> WriteOutcome:
        """Store ``text`` as the log of ``step`` of the run; raises ``NotFound`` for no run."""

    @abc.abstractmethod
    def get_log(self, job: str, run_id: str, step: str) -> StoredLog | None:
        """The step's log, or ``None`` (no such run or step)."""

    @abc.abstractmethod
    def list_logs(self, job: str, run_id: str) -> list[LogInfo]:
        """The run's logs by step name (empty for a run without logs or no such run)."""

    @abc.abstractmethod
    def logs_page(self, *, after: str | None = None, since: datetime | None = None,
                  job: str | None = None, limit: int) -> Page:
        """A page of :class:`LogRef` in ``(job, run_id, step)`` order; ``after`` is the
        previous page's ``next_cursor``; ``since`` keeps runs created at or after it."""

    @abc.abstractmethod
    def get_texts(self, keys: Sequence[LogKey]) -> Mapping[LogKey, str]:
        """The texts of the logs named, in one call; keys without a log are absent."""
