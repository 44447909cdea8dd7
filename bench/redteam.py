"""Repeat issue 11's attacks against a fresh ``flakegate serve`` on 127.0.0.1 and print a table.

    .venv/bin/python bench/redteam.py [--duration 30] [--workers 2]

Bounded: one server on a free loopback port, every attack stops by itself, the server is
stopped at the end. Rows: slow clients (the normal client's share answered 200 within 1 s
while 32 slow-header and 8 slow-body clients trickle), worker exits (SIGTERM, SIGHUP, a
timeout), a decoy path, secrets in the log, a pre-app rejection's shape, and the upload
budget, hostile inputs and long names of :mod:`bench.redteam_inputs`.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.redteam_inputs import ROWS as INPUT_ROWS  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402
from tests.server.attacks import under_slow_clients  # noqa: E402

TOKEN = "fg_redteam-admin-token-long-enough-for-the-32-char-rule"


def _serving(server: LiveServer) -> bool:
    try:
        return requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _raw(server: LiveServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _slow_clients(server: LiveServer, duration: float) -> tuple[bool, str]:
    outcome = under_slow_clients(server.url, server.port, TOKEN, duration=duration)
    latencies = sorted(outcome.latencies) or [float("nan")]
    return outcome.share >= 0.95, (
        f"{outcome.answered_in_time}/{outcome.sent} = {outcome.share:.1%} answered within 1 s; "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")


def _worker_exit(server: LiveServer, how: str) -> tuple[bool, str]:
    assert server.process is not None
    ready = len(server.ready_workers())
    if how == "SIGTERM a worker":
        os.kill(server.ready_workers()[-1], signal.SIGTERM)
        expected = ready + 1
    elif how == "SIGHUP the master":
        os.kill(server.process.pid, signal.SIGHUP)
        expected = ready + server.workers
    else:  # a worker timeout: stopped past --timeout, resumed after the master's SIGABRT
        victim = server.ready_workers()[-1]
        os.kill(victim, signal.SIGSTOP)
        deadline = time.monotonic() + 30
        while server.log().count("WORKER TIMEOUT") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(victim, signal.SIGCONT)
        expected = ready + 1
    try:
        server.wait_for_workers(expected, timeout=30)
    except RuntimeError:
        return False, "no replacement worker"
    alive = server.process.poll() is None and _serving(server)
    return alive, "replaced, serving" if alive else "server gone"


def _decoy(server: LiveServer) -> tuple[bool, str]:
    requests.put(f"{server.url}/jobs/seed/runs/1", json={"status": "success"},
                 headers=server.headers(), timeout=10)
    data = _raw(server, b"GET /healthz/x://y/jobs/seed/runs/1 HTTP/1.1\r\nHost: x\r\n"
                        b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                        b"Connection: close\r\n\r\n")
    status = data.split(b" ", 2)[1].decode()
    return status == "404", f"GET /healthz/x://y/jobs/seed/runs/1 -> {status}"


def _secrets(server: LiveServer) -> tuple[bool, str]:
    requests.get(f"{server.url}/healthz?access_token=SECRET-q-77", timeout=10,
                 headers={"Authorization": "Bearer SECRET-h-77"})
    log = server.log_path.read_text(errors="replace") if server.log_path else ""
    leaked = [secret for secret in ("SECRET-q-77", "SECRET-h-77", TOKEN) if secret in log]
    return not leaked, f"leaked: {leaked}" if leaked else "none in the log"


def _rejection(server: LiveServer) -> tuple[bool, str]:
    data = _raw(server, b"GET /healthz?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    good = head.startswith(b"HTTP/1.1 414") and body.startswith(b'{"error"')
    return good, head.split(b"\r\n")[0].decode() + ", " + body[:40].decode(errors="replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        server = LiveServer(f"sqlite:///{scratch}/redteam.db", TOKEN, workers=args.workers,
                            extra_args=["--timeout", "3"]).start()
        rows: list[tuple[str, bool, str]] = []
        try:
            attacks = [
                ("slow clients (32 headers, 8 bodies)", lambda: _slow_clients(
                    server, args.duration)),
                ("SIGTERM a worker", lambda: _worker_exit(server, "SIGTERM a worker")),
                ("SIGHUP the master", lambda: _worker_exit(server, "SIGHUP the master")),
                ("worker timeout", lambda: _worker_exit(server, "timeout")),
                ("decoy path with ://", lambda: _decoy(server)),
                ("secrets in the access log", lambda: _secrets(server)),
                ("request line too long", lambda: _rejection(server)),
                *[(name, lambda row=row: row(server)) for name, row in INPUT_ROWS],
            ]
            for name, attack in attacks:
                passed, detail = attack()
                rows.append((name, passed, detail))
                print(f"{name:38} {'ok  ' if passed else 'FAIL'} {detail}", flush=True)
        finally:
            server.stop()
    return 0 if all(passed for _, passed, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
