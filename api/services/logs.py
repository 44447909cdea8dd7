"""Receiving and reading build logs (issue 13, SPEC §10).

A log arrives as bytes (plain or gzip, streamed), is prepared by the pure
:func:`api.failures.logtext.prepare` (escapes stripped, bounded at ``MAX_LOG_BYTES`` keeping
head and tail, long lines cut) and stored through :class:`api.store.logs.LogStore`. Inflating
is charged to the same budget of decompressed bytes as a JUnit upload
(``MAX_DECOMPRESSED_BYTES``, :class:`api.services.junit_upload.Limits`), and refused with the
same errors, so one request can cause as much work whichever it carries.

**Scan on arrival.** After a log is stored with new content, every listener in
:data:`on_log_stored` is called with the store and a :class:`LogStored`. This module registers
none: the pattern scanner appends itself, so that scanning plugs in without editing the route.
A listener's failure propagates (the log is already stored, the client sees the error and may
retry: the retry is an unchanged put, which calls no listener, so listeners must not rely on
being called exactly once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from api.domain import WriteOutcome
from api.failures.logtext import DEFAULT_MAX_LOG_BYTES, InvalidGzip, LogTooLarge, prepare
from api.services.errors import InvalidUpload
from api.services.junit_upload import Limits, too_large
from api.store import NotFound, Store
from api.store.logs import LogInfo, LogMeta, StoredLog


@dataclass(frozen=True, slots=True)
class LogStored:
    """A step's log was stored with new content (created or replaced)."""

    job: str
    run_id: str
    step: str
    outcome: WriteOutcome
    info: LogInfo


LogListener = Callable[[Store, LogStored], None]
on_log_stored: list[LogListener] = []
"""Called in order after each put that changed a log (see the module docstring)."""


def _run_exists(store: Store, job: str, run_id: str) -> None:
    # The JUnit path's rule: files and logs attach to a run that was PUT first.
    if store.get_run(job, run_id) is None:
        raise NotFound(f"no run {run_id!r} of job {job!r}; PUT the run before sending its logs")


def put_log(store: Store, job: str, run_id: str, step: str, body: bytes | Iterable[bytes], *,
            limits: Limits, max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
            source: str = "api") -> tuple[LogInfo, WriteOutcome]:
    """Prepare and store one step's log; raises ``NotFound`` (no run) or
    :class:`InvalidUpload` (``invalid_encoding``, ``too_large``) before storing anything."""
    _run_exists(store, job, run_id)
    try:
        log = prepare(body, max_bytes=max_log_bytes, max_inflated=limits.decompressed_bytes)
    except LogTooLarge:
        raise too_large(limits) from None
    except InvalidGzip as err:
        raise InvalidUpload("invalid_encoding", f"the log of step {step!r}: {err}") from None
    meta = LogMeta(received_bytes=log.received_bytes, omitted_bytes=log.omitted_bytes,
                   omitted_lines=log.omitted_lines, cut_lines=log.cut_lines, source=source)
    outcome = store.logs.put_log(job, run_id, step, log.text, meta)
    info = next(i for i in store.logs.list_logs(job, run_id) if i.step == step)
    if outcome is not WriteOutcome.UNCHANGED:
        event = LogStored(job, run_id, step, outcome, info)
        for listener in list(on_log_stored):
            listener(store, event)
    return info, outcome


def get_log(store: Store, job: str, run_id: str, step: str) -> StoredLog:
    stored = store.logs.get_log(job, run_id, step)
    if stored is None:
        _run_exists(store, job, run_id)
        raise NotFound(f"run {run_id!r} of job {job!r} has no log for step {step!r}")
    return stored


def list_logs(store: Store, job: str, run_id: str) -> list[LogInfo]:
    infos = store.logs.list_logs(job, run_id)
    if not infos:
        _run_exists(store, job, run_id)
    return infos
