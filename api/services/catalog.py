"""Jobs, runs and payloads: validation already happened in the schemas; this is the use-case
layer between the routes and the store (a run's write tells its observer what it ingested)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from api.domain import (
    Job,
    JobSpec,
    Page,
    Payload,
    Run,
    RunSpec,
    RunStatus,
    TestResult,
    TestStatus,
    WriteOutcome,
    job_field_changes,
    merge_results,
    truncate_message,
)
from api.services.errors import Forbidden
from api.services.ingest import Ingested, IngestObserver
from api.services.job_settings import JobSettings
from api.store import AuditEntry, NotFound, RunFilter, Store
from api.store.cursor import decode_offset, encode_offset

#: Fields a write token may change: ``variant`` only labels the job (no verdict reads it).
#: Everything else (``policy``, ``expected_runs`` and every setting) can weaken the gate.
UNGOVERNED_FIELDS = frozenset({"variant"})


def put_job(store: Store, name: str, fields: Mapping[str, Any], *, actor: str,
            admin: bool) -> tuple[Job, WriteOutcome]:
    """Create or update a job; every field changed is audited under ``actor``.

    Without ``admin``, a change to any field but ``variant`` is refused with
    :class:`Forbidden` naming the fields (an unchanged value is not a change). The check
    reads the job first; the store then diffs against the job as it is at write time, so the
    audit log holds what was really changed.
    """
    if fields.get("settings") is not None:
        JobSettings.parse(fields["settings"])  # refuse unknown or mistyped settings up front
    spec = JobSpec(name=name, **fields)
    if not admin:
        governed = sorted({field for field, _, _ in job_field_changes(store.get_job(name), spec)}
                          - UNGOVERNED_FIELDS)
        if governed:
            raise Forbidden("changing " + ", ".join(governed) + " can weaken the gate: it "
                            "needs a token with scope 'admin'", governed)
    return store.put_job(spec, actor=actor)


def get_job(store: Store, name: str) -> Job:
    job = store.get_job(name)
    if job is None:
        raise NotFound(f"no job named {name!r}")
    return job


def list_jobs(store: Store, *, limit: int, cursor: str | None) -> Page:
    return store.list_jobs(limit=limit, cursor=cursor)


def merge_inline_tests(tests: Sequence[Mapping[str, Any]]) -> list[TestResult]:
    """Turn loaded test dicts into results, merging repeats of one test with the domain's one
    rule (:func:`api.domain.merge_results`), as JUnit retries and attached files are merged."""
    merged: dict[tuple[str, str], TestResult] = {}
    for item in tests:
        result = TestResult(
            name=item["name"],
            suite=item.get("suite") or "",
            status=TestStatus.from_wire(item["status"]),
            duration_s=item.get("duration_s"),
            message=truncate_message(item.get("message")),
            informing=bool(item.get("informing")),
        )
        key = (result.suite, result.name)
        earlier = merged.get(key)
        merged[key] = result if earlier is None else merge_results(earlier, result)
    return list(merged.values())


def put_run(store: Store, job: str, run_id: str, fields: Mapping[str, Any], *,
            observer: IngestObserver | None = None) -> tuple[Run, WriteOutcome]:
    raw_tests = fields.get("tests")
    tests = None if raw_tests is None else merge_inline_tests(raw_tests)
    spec = RunSpec(
        job=job,
        run_id=run_id,
        status=RunStatus(fields["status"]),
        payload=fields.get("payload"),
        started_at=fields.get("started_at"),
        finished_at=fields.get("finished_at"),
        url=fields.get("url"),
        variant=fields.get("variant") or {},
        metadata=fields.get("metadata") or {},
    )
    run, outcome = store.put_run(spec, tests)
    if observer is not None and outcome is not WriteOutcome.UNCHANGED:
        observer(Ingested(runs=1, results=len(tests or ())))
    return run, outcome


def get_run(store: Store, job: str, run_id: str) -> Run:
    run = store.get_run(job, run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r} of job {job!r}")
    return run


def list_runs(store: Store, job: str, query: Mapping[str, Any], *, limit: int) -> Page:
    get_job(store, job)  # an unknown job is a 404, not an empty list
    where = RunFilter(
        payload=query.get("payload"),
        status=RunStatus(query["status"]) if query.get("status") else None,
        since=query.get("since"),
    )
    return store.list_runs(job, where=where, limit=limit, cursor=query.get("cursor"))


def page_run_tests(store: Store, job: str, run_id: str, *, status: TestStatus | None,
                   limit: int, cursor: str | None) -> Page:
    """A run's tests, optionally of one status, paged by position in (suite, name) order."""
    tests = store.get_run_tests(job, run_id)
    if status is not None:
        tests = [test for test in tests if test.status is status]
    start = decode_offset(cursor)
    end = start + limit
    return Page(items=tuple(tests[start:end]),
                next_cursor=encode_offset(end) if end < len(tests) else None)


def put_payload(store: Store, payload_id: str,
                fields: Mapping[str, Any]) -> tuple[Payload, WriteOutcome]:
    return store.put_payload(
        Payload(id=payload_id, expected=dict(fields.get("expected") or {}),
                deadline=fields.get("deadline"))
    )


def get_payload(store: Store, payload_id: str) -> Payload:
    payload = store.get_payload(payload_id)
    if payload is None:
        raise NotFound(f"no payload {payload_id!r}")
    return payload


def _deletion(job: str, action: str, actor: str, reason: str) -> AuditEntry:
    return AuditEntry(job=job, action=action, actor=actor, reason=reason, tests=(),
                      version=None, at=datetime.now(UTC))


def delete_run(store: Store, job: str, run_id: str, *, actor: str, reason: str) -> None:
    """Delete a run with its results and files (e.g. one a failed upload left pending);
    audited in the job's log in the same store call."""
    why = reason or f"run {run_id!r} deleted"
    store.delete_run(job, run_id, _deletion(job, "delete_run", actor, why))


def delete_payload(store: Store, payload_id: str, *, actor: str, reason: str) -> tuple[str, ...]:
    """Delete a payload's registration (its runs stay); audited in each involved job's log.
    Returns the jobs whose log got the entry."""
    why = reason or f"payload {payload_id!r} registration deleted"
    return store.delete_payload(payload_id, _deletion("", "delete_payload", actor, why))
