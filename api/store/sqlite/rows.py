"""Reading rows of the SQLite backend and mapping them to the domain's value types.

The functions taking a connection run inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from api.domain import Job, JunitFile, Payload, Run, RunCounts, RunSpec, RunStatus
from api.store.base import NotFound
from api.store.codec import dump_map, from_us, load_map, to_us

JOB_COLUMNS = "name, variant, policy, expected_runs, settings, created_at, updated_at"
# Positions below index rows selected with RUN_COLUMNS.
RUN_COLUMNS = (
    "pk, run_id, payload, status, started_at, finished_at, url, variant, metadata,"
    " n_total, n_passed, n_failed, n_errors, n_skipped, n_flaked, tests_hash,"
    " created_at, updated_at"
)
PK, SPEC, TESTS_HASH, CREATED_AT = 0, slice(2, 9), 15, 16  # SPEC matches spec_columns()


def spec_columns(spec: RunSpec) -> tuple[Any, ...]:
    return (
        spec.payload,
        RunStatus(spec.status).value,
        to_us(spec.started_at),
        to_us(spec.finished_at),
        spec.url,
        dump_map(spec.variant),
        dump_map(spec.metadata),
    )


def job_of(row: tuple[Any, ...]) -> Job:
    name, variant, policy, expected_runs, settings, created_at, updated_at = row
    return Job(
        name=name,
        variant=load_map(variant),
        policy=policy,
        expected_runs=expected_runs,
        settings=load_map(settings),
        created_at=from_us(created_at),
        updated_at=from_us(updated_at),
    )


def run_of(job: str, row: tuple[Any, ...], files: tuple[JunitFile, ...]) -> Run:
    spec = RunSpec(
        job=job,
        run_id=row[1],
        status=RunStatus(row[3]),
        payload=row[2],
        started_at=from_us(row[4]),
        finished_at=from_us(row[5]),
        url=row[6],
        variant=load_map(row[7]),
        metadata=load_map(row[8]),
    )
    counts = RunCounts(
        total=row[9],
        passed=row[10],
        failed=row[11],
        errors=row[12],
        skipped=row[13],
        flaked=row[14],
    )
    created_at, updated_at = from_us(row[16]), from_us(row[17])
    assert created_at is not None and updated_at is not None
    return Run(spec=spec, counts=counts, files=files, created_at=created_at, updated_at=updated_at)


def payload_of(row: tuple[Any, ...]) -> Payload:
    payload_id, expected, deadline, created_at, updated_at = row
    return Payload(
        id=payload_id,
        expected=json.loads(expected),
        deadline=from_us(deadline),
        created_at=from_us(created_at),
        updated_at=from_us(updated_at),
    )


def job_row(conn: sqlite3.Connection, name: str) -> tuple[Any, ...] | None:
    return conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE name = ?", (name,)).fetchone()


def ensure_job(conn: sqlite3.Connection, name: str, now: int) -> int:
    """The job's id, creating the job with default settings if it is unknown."""
    conn.execute(
        "INSERT INTO jobs (name, created_at, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING",
        (name, now, now),
    )
    (job_id,) = conn.execute("SELECT id FROM jobs WHERE name = ?", (name,)).fetchone()
    return int(job_id)


def run_pk(conn: sqlite3.Connection, job: str, run_id: str) -> int:
    row = conn.execute(
        "SELECT pk FROM runs WHERE job_id = (SELECT id FROM jobs WHERE name = ?) AND run_id = ?",
        (job, run_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
    return int(row[0])


def load_run(conn: sqlite3.Connection, job: str, pk: int) -> Run:
    row = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE pk = ?", (pk,)).fetchone()
    return load_runs(conn, job, [row])[0]


def load_runs(conn: sqlite3.Connection, job: str, rows: list[Any]) -> list[Run]:
    """Runs of ``rows`` (selected with RUN_COLUMNS) with their files, in one more query."""
    files: dict[int, list[JunitFile]] = {row[PK]: [] for row in rows}
    if rows:
        marks = ",".join("?" * len(rows))
        for pk, name, sha, tests in conn.execute(
            f"SELECT run_pk, name, sha256, tests FROM files WHERE run_pk IN ({marks}) ORDER BY id",
            [row[PK] for row in rows],
        ):
            files[pk].append(JunitFile(name=name, sha256=sha, tests=tests))
    return [run_of(job, row, tuple(files[row[PK]])) for row in rows]


def payload_row(conn: sqlite3.Connection, payload_id: str) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT id, expected, deadline, created_at, updated_at FROM payloads WHERE id = ?",
        (payload_id,),
    ).fetchone()
