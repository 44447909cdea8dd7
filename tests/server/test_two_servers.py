"""Several servers, one database (issue 16, part 2): two ``flakegate serve`` processes on
different ports, 16 concurrent uploaders spread over both, re-sends through the other server.

Every run is stored exactly once, a re-send is ``unchanged`` (200, same body), both servers
answer the same runs, verdicts and ETags, and the background work runs once per job, not once
per server: no two baseline versions of a job were computed from the same runs, and the
backfill of a new pattern scans each log once (its ``logs_scanned`` is not doubled).

Run on PostgreSQL (what several servers share in production: ``tests/postgres_server.py``)
and on SQLite (one file shared by the processes of one machine).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from api.store import Store, open_store
from tests.live_server import LiveServer

from .conftest import ADMIN

pytestmark = pytest.mark.slow
UPLOADERS, RUNS_EACH, TESTS = 16, 3, 30
JOBS = ("e2e-aws", "e2e-gcp", "upgrade")
NOW = datetime.now(UTC)  # inside the baseline's window
ENV = {"FLAKEGATE_BASELINE_EVERY": "2s", "FLAKEGATE_SCAN_EVERY": "0.5s",
       "FLAKEGATE_SCAN_PASSING_EVERY": "1"}


def run_body(uploader: int, k: int) -> dict[str, object]:
    failing = (uploader + k) % 4 == 0
    return {"status": "failure" if failing else "success", "payload": f"p{k}",
            "started_at": (NOW - timedelta(hours=RUNS_EACH - k, minutes=uploader)).isoformat(),
            "tests": [{"suite": "s", "name": f"t{n}",
                       "status": "failed" if failing and n == uploader % TESTS else "passed",
                       "duration_s": n / 10} for n in range(TESTS)]}


def upload(servers: list[LiveServer], uploader: int, errors: list[str]) -> None:
    session = requests.Session()
    job = JOBS[uploader % len(JOBS)]
    for k in range(RUNS_EACH):
        first, other = servers[(uploader + k) % 2], servers[(uploader + k + 1) % 2]
        path = f"/jobs/{job}/runs/u{uploader}-{k}"
        body = run_body(uploader, k)
        made = session.put(first.url + path, json=body, headers=first.headers(), timeout=60)
        again = session.put(other.url + path, json=body, headers=other.headers(), timeout=60)
        log = f"step {uploader}-{k}\n" + ("error: Killed\n" if body["status"] == "failure"
                                           else "ok\n")
        for server in (first, other):
            stored = session.put(server.url + path + "/logs/build", data=log, timeout=60,
                                 headers={**server.headers(), "Content-Type": "text/plain"})
            if stored.status_code not in (200, 201):
                errors.append(f"log {path}: {stored.status_code} {stored.text[:200]}")
        if made.status_code != 201 or again.status_code != 200 or made.json() != again.json():
            errors.append(f"{path}: {made.status_code} then {again.status_code}")


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             *servers: LiveServer) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout}s:\n" + "\n".join(s.log() for s in servers))
        time.sleep(0.3)


def sqlite_database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shared.db'}"


def postgres_database(tmp_path: Path) -> str:
    from tests.postgres_server import shared_postgres

    return shared_postgres().fresh_url()


DATABASES: dict[str, Callable[[Path], str]] = {"sqlite": sqlite_database,
                                               "postgres": postgres_database}


@pytest.fixture(params=sorted(DATABASES))
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Store, Path]]:
    url = DATABASES[request.param](tmp_path)
    store = open_store(url)
    store.migrate()
    yield url, store, tmp_path
    store.close()


def versions_by_runs(store: Store, job: str) -> list[frozenset[str] | None]:
    found = store.list_baselines(job, limit=100).items
    return [store.baseline_run_ids(job, v.version) for v in found]


def test_two_servers_share_one_database(shared: tuple[str, Store, Path]) -> None:
    url, store, logs = shared
    servers = [LiveServer(url, ADMIN, workers=2, extra_env=ENV, log_dir=logs).start()
               for _ in range(2)]
    try:
        errors: list[str] = []
        threads = [threading.Thread(target=upload, args=(servers, i, errors), daemon=True)
                   for i in range(UPLOADERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "uploaders did not finish in 300 s"
        assert errors == []

        expected = {job: sorted(f"u{i}-{k}" for i in range(UPLOADERS) for k in range(RUNS_EACH)
                                if JOBS[i % len(JOBS)] == job) for job in JOBS}
        for job in JOBS:
            listed = [requests.get(f"{s.url}/jobs/{job}/runs?limit=1000", headers=s.headers(),
                                   timeout=30).json() for s in servers]
            assert listed[0] == listed[1]
            assert sorted(r["run_id"] for r in listed[0]["items"]) == expected[job]

        # The schedule gives each job a baseline; once the history is still, no new version.
        wait_for(lambda: all(store.get_baseline(job) for job in JOBS), 60,
                 "no baseline for every job", *servers)
        time.sleep(5)
        for job in JOBS:
            versions = versions_by_runs(store, job)
            assert all(runs is not None for runs in versions)
            assert len(set(versions)) == len(versions), f"{job}: a version computed twice"
            assert versions[0] == frozenset(expected[job])  # the newest counts every run

        for k in range(RUNS_EACH):
            answers = [requests.get(f"{s.url}/payloads/p{k}/verdict", headers=s.headers(),
                                    timeout=60) for s in servers]
            assert answers[0].status_code == answers[1].status_code == 200
            assert answers[0].json() == answers[1].json()
            assert answers[0].headers["ETag"] == answers[1].headers["ETag"]

        # A new pattern's backfill is run by the scan schedules of both servers: once.
        made = requests.post(f"{servers[0].url}/patterns", json={"expression": "Killed"},
                             headers=servers[0].headers(), timeout=30)
        assert made.status_code == 201, made.text
        failing = sum(run_body(i, k)["status"] == "failure" for i in range(UPLOADERS)
                      for k in range(RUNS_EACH))

        def backfilled() -> bool:
            return not store.patterns.open_scans()

        wait_for(backfilled, 60, "the backfill did not finish", *servers)
        scans = [store.patterns.get_scan(sid) for sid in range(1, 4)]
        (scan,) = [s for s in scans if s is not None and s.pattern_id == made.json()["id"]]
        assert scan.state.value == "done"
        assert (scan.logs_scanned, scan.matches) == (UPLOADERS * RUNS_EACH, failing)
    finally:
        for server in servers:
            server.stop()
