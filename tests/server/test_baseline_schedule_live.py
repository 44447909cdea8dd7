"""The server keeps baselines by itself (issue 10, item 2), against real ``flakegate serve``
processes: a first baseline for a job with history and none, no new version for an unchanged
window, new runs picked up after a worker's exit and a reload, and two servers on one database
writing each version once (the leases in the store).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from api.domain import RunSpec, RunStatus, TestResult, TestStatus
from api.store import BaselineVersion, Store, open_store
from tests.live_server import LiveServer

from .conftest import ADMIN

pytestmark = pytest.mark.slow
EVERY = "2s"
NOW = datetime.now(UTC)


def put_runs(store: Store, first: int, count: int) -> None:
    for i in range(first, first + count):
        store.put_run(RunSpec(job="e2e", run_id=f"r{i}", status=RunStatus.SUCCESS,
                              payload=f"p{i}", started_at=NOW - timedelta(hours=100 - i)),
                      [TestResult(f"t{k}", "s", TestStatus.PASSED) for k in range(5)])


def versions(store: Store) -> list[BaselineVersion]:
    return list(store.list_baselines("e2e", limit=100).items)[::-1]


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             *servers: LiveServer) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout}s:\n" + "\n".join(s.log() for s in servers))
        time.sleep(0.2)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    url = f"sqlite:///{tmp_path / 'schedule.db'}"
    store = open_store(url)
    store.migrate()
    put_runs(store, 0, 5)
    assert store.get_baseline("e2e") is None
    try:
        yield url, store
    finally:
        store.close()


def serve(url: str, every: str = EVERY) -> LiveServer:
    return LiveServer(url, ADMIN, workers=2,
                      extra_env={"FLAKEGATE_BASELINE_EVERY": every}).start()


def test_a_fresh_server_keeps_the_baseline_of_a_job_with_history(
        history: tuple[str, Store]) -> None:
    url, store = history
    server = serve(url)
    try:
        def answered() -> bool:
            return requests.get(f"{server.url}/jobs/e2e/baseline", headers=server.headers(),
                                timeout=10).status_code == 200

        wait_for(answered, 30, "no baseline", server)
        assert [v.runs for v in versions(store)] == [5]
        time.sleep(2 * 2 + 1)  # two more periods, no new run: no new version
        assert [v.runs for v in versions(store)] == [5]

        put_runs(store, 5, 1)
        wait_for(lambda: len(versions(store)) == 2, 30, "new run not picked up", server)
        victim = server.ready_workers()[0]
        os.kill(victim, signal.SIGTERM)  # a worker's exit: the others and its heir go on
        server.wait_for_workers(3, timeout=30)
        put_runs(store, 6, 1)
        wait_for(lambda: len(versions(store)) == 3, 30, "schedule lost with a worker", server)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGHUP)  # a reload replaces every worker
        server.wait_for_workers(5, timeout=30)
        put_runs(store, 7, 1)
        wait_for(lambda: len(versions(store)) == 4, 30, "schedule lost in a reload", server)
        time.sleep(2 * 2 + 1)
        assert [v.runs for v in versions(store)] == [5, 6, 7, 8]
        assert all(v.exclude_payload is None for v in versions(store))
    finally:
        server.stop()


def test_two_servers_on_one_database_write_each_version_once(
        history: tuple[str, Store]) -> None:
    url, store = history
    servers = [serve(url, "1s"), serve(url, "1s")]
    try:
        wait_for(lambda: len(versions(store)) >= 1, 30, "no baseline", *servers)
        time.sleep(4)  # four periods of both servers' four workers
        assert [v.runs for v in versions(store)] == [5]
        put_runs(store, 5, 2)
        wait_for(lambda: versions(store)[-1].runs == 7, 30, "new runs not picked up", *servers)
        time.sleep(4)
        found = versions(store)
        # The two runs may land in one version or two, never in a repeat of the same window.
        assert [v.runs for v in found] in ([5, 7], [5, 6, 7]), [v.runs for v in found]
        run_sets = [store.baseline_run_ids("e2e", v.version) for v in found]
        assert len(set(run_sets)) == len(run_sets)
    finally:
        for server in servers:
            server.stop()
