"""The server outlives its workers: a worker's exit (signal, reload, timeout) is replaced by a
new worker, and /metrics keeps every count (issue 11, defect 1).

Before the fix, a worker's SystemExit unwound through ``serve()``'s cleanup in the forked
worker, deleting the metrics directory (and terminating the then recompute child): the next
worker failed to boot and the master exited. (The baseline schedule now runs inside the workers;
tests/server/test_baseline_schedule_live.py covers it across exits and reloads.)
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.live_server import LiveServer
from tests.server.attacks import slow_header_client

pytestmark = pytest.mark.slow


def _healthz_count(server: LiveServer) -> float:
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    match = re.search(r'flakegate_http_requests_total\{method="GET",route="/healthz",'
                      r'status="200"\} ([0-9.e+]+)', text)
    return float(match.group(1)) if match else 0.0


def _hit(server: LiveServer, times: int) -> None:
    for _ in range(times):
        response = requests.get(f"{server.url}/healthz", timeout=10,
                                headers={"Connection": "close"})
        assert response.status_code == 200


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def _wait_for(condition: Callable[[], bool], timeout: float, what: str,
              server: LiveServer) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout}s:\n{server.log()}"
        time.sleep(0.1)


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(f"sqlite:///{tmp_path / 'restarts.db'}",
                        "fg_admin-long-enough-for-the-32-char-rule", workers=2,
                        extra_args=["--timeout", "3"]).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_terminated_worker_is_replaced_and_counts_survive(restartable: LiveServer) -> None:
    server = restartable
    before = _healthz_count(server)
    _hit(server, 10)
    victim = server.ready_workers()[0]
    os.kill(victim, signal.SIGTERM)
    server.wait_for_workers(3, timeout=30)
    _hit(server, 10)
    assert server.process is not None and server.process.poll() is None, server.log()
    assert _healthz_count(server) - before == 20, "the dead worker's counts are kept"
    assert "Worker failed to boot" not in server.log()


def test_a_reload_replaces_every_worker(restartable: LiveServer) -> None:
    server = restartable
    assert server.process is not None
    before = _healthz_count(server)
    os.kill(server.process.pid, signal.SIGHUP)  # gunicorn's documented reload
    server.wait_for_workers(4, timeout=30)
    _wait_for(lambda: len([pid for pid in server.ready_workers() if _alive(pid)]) == 2, 30,
              "the old workers exit", server)
    _hit(server, 5)
    assert _healthz_count(server) - before == 5
    assert server.process.poll() is None, server.log()


def test_a_worker_timeout_under_a_slow_client_is_survived(restartable: LiveServer) -> None:
    server = restartable
    stop = threading.Event()
    slow = threading.Thread(target=slow_header_client,
                            args=(server.port, time.monotonic() + 20, stop))
    slow.start()
    victim = server.ready_workers()[0]
    try:
        # A stopped worker stops notifying the master, which aborts it after --timeout; when
        # it resumes, its SIGABRT handler raises SystemExit (the path that broke the server).
        os.kill(victim, signal.SIGSTOP)
        _wait_for(lambda: "WORKER TIMEOUT" in server.log(), 30, "a worker timeout", server)
        os.kill(victim, signal.SIGCONT)
        server.wait_for_workers(3, timeout=30)
        _hit(server, 5)
        assert server.process is not None and server.process.poll() is None, server.log()
    finally:
        stop.set()
        slow.join(timeout=10)
        if _alive(victim):
            os.kill(victim, signal.SIGCONT)
