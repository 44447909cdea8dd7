"""Rows and values of the BigQuery backend: the run row, fingerprints, clocks, parameters."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from datetime import date, datetime
from typing import Any, NamedTuple

from api.domain import Job, JunitFile, Payload, Run, RunCounts, RunSpec, RunStatus
from api.store.batch import Entry
from api.store.bigquery.client import Typed
from api.store.codec import dump_map, from_us, to_us

JOB_COLUMNS = "name, variant, policy, expected_runs, settings, stamp, created_at, updated_at"

_clock_guard = threading.Lock()
_last_us = 0


def now_us() -> int:
    """Microseconds since the epoch, strictly increasing within the process, so that runs
    created back to back still have distinct ``created_at`` (the listing's order)."""
    global _last_us
    with _clock_guard:
        _last_us = max(time.time_ns() // 1000, _last_us + 1)
        return _last_us


def new_id() -> int:
    return random.SystemRandom().randrange(1, 2**62)


def ts(value: int | None) -> Typed:
    return Typed("TIMESTAMP", from_us(value))


def us(value: datetime | None) -> int | None:
    return None if value is None else to_us(value)


def fingerprint(entries: dict[tuple[str, str], Entry]) -> str:
    """Identity of a run's tests as put, independent of their order."""
    # The informing flag joins the identity only when set: unmarked runs keep their digest.
    body = json.dumps(sorted([k[0], k[1], *v[:3], *([True] if v[3] else [])]
                             for k, v in entries.items()),
                      separators=(",", ":"))
    return hashlib.blake2b(body.encode(), digest_size=16).hexdigest()


EMPTY_FINGERPRINT = fingerprint({})


class RunRow(NamedTuple):
    """A stored run row, by column name (RUN_COLUMNS selects them in this order)."""

    job: str
    run_id: str
    payload: str | None
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    url: str | None
    variant: str
    metadata: str
    files: str  # JSON list of [name, sha256, tests]
    tests_hash: str | None
    gen: int
    prev_gen: int | None
    run_day: date
    n_total: int
    n_passed: int
    n_failed: int
    n_errors: int
    n_skipped: int
    n_flaked: int
    stamp: int
    created_at: datetime
    updated_at: datetime
    # The run's measurements (api/store/bigquery/disruption.py): the generation of its
    # ``measurements`` rows, and its variant, kinds and files as JSON; flipped with the row.
    mgen: int | None = None
    measures: str | None = None

    def spec_columns(self) -> tuple[Any, ...]:
        return (self.payload, self.status, us(self.started_at), us(self.finished_at), self.url,
                self.variant, self.metadata)

    def run(self) -> Run:
        spec = RunSpec(job=self.job, run_id=self.run_id, status=RunStatus(self.status),
                       payload=self.payload, started_at=self.started_at,
                       finished_at=self.finished_at, url=self.url,
                       variant=json.loads(self.variant), metadata=json.loads(self.metadata))
        counts = RunCounts(total=self.n_total, passed=self.n_passed, failed=self.n_failed,
                           errors=self.n_errors, skipped=self.n_skipped, flaked=self.n_flaked)
        files = tuple(JunitFile(name=n, sha256=s, tests=t) for n, s, t in json.loads(self.files))
        return Run(spec=spec, counts=counts, files=files, created_at=self.created_at,
                   updated_at=self.updated_at)


RUN_COLUMNS = ", ".join(RunRow._fields)


def spec_columns(spec: RunSpec) -> tuple[Any, ...]:
    return (spec.payload, RunStatus(spec.status).value, to_us(spec.started_at),
            to_us(spec.finished_at), spec.url, dump_map(spec.variant), dump_map(spec.metadata))


def job_of(row: tuple[Any, ...]) -> Job:
    name, variant, policy, expected_runs, settings, _, created_at, updated_at = row
    return Job(name=name, variant=json.loads(variant), policy=policy,
               expected_runs=expected_runs, settings=json.loads(settings),
               created_at=created_at, updated_at=updated_at)


PAYLOAD_COLUMNS = "expected, deadline, stamp, created_at, updated_at"


def payload_of(payload_id: str, row: tuple[Any, ...]) -> Payload:
    """A payload from a row selected with PAYLOAD_COLUMNS."""
    expected, deadline, _, created_at, updated_at = row
    return Payload(id=payload_id, expected=json.loads(expected), deadline=deadline,
                   created_at=created_at, updated_at=updated_at)
