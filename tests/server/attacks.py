"""Slow clients and a normal client against a live server on 127.0.0.1, bounded in time.

Shared by tests/server/test_slow_clients.py and bench/redteam.py.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass

import requests


def _trickle(port: int, head: bytes, rest: bytes, every: float, chunk: int, until: float,
             stop: threading.Event) -> None:
    """Send ``head`` at once, then ``rest`` ``chunk`` bytes per ``every`` seconds; when the
    server cuts the connection, open another, as an attacker would, until ``until`` passes
    or ``stop`` is set."""
    while not stop.is_set() and time.monotonic() < until:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port),
                                                                    timeout=5) as sock:
            sock.sendall(head)
            for start in range(0, len(rest), chunk):
                if stop.wait(every) or time.monotonic() > until:
                    return
                sock.sendall(rest[start:start + chunk])
        stop.wait(0.1)


def slow_header_client(port: int, until: float, stop: threading.Event) -> None:
    """A request whose headers arrive at 1 byte/s (and would never end)."""
    headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10_000
    _trickle(port, b"", headers, 1.0, 1, until, stop)


def slow_body_client(port: int, until: float, stop: threading.Event) -> None:
    """A 1 MB body announced by Content-Length, sent at 100 bytes/s."""
    size = 1_000_000
    head = (b"POST /jobs/slow/runs/1/junit HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/xml\r\nContent-Length: " + str(size).encode() +
            b"\r\n\r\n")
    _trickle(port, head, b"<" * size, 1.0, 100, until, stop)


@dataclass
class Outcome:
    sent: int
    answered_in_time: int
    latencies: list[float]
    missed_at: list[float]  # seconds into the run of each request not answered in time

    @property
    def share(self) -> float:
        return self.answered_in_time / self.sent if self.sent else 0.0


def normal_client(base_url: str, token: str, duration: float, *, every: float = 0.1,
                  within: float = 1.0) -> Outcome:
    """GET /healthz and GET /jobs (with a token) in turn, one every ``every`` seconds, each on
    a new connection; count those answered 200 within ``within`` s."""
    sent = ok = 0
    latencies: list[float] = []
    missed: list[float] = []
    begin = time.monotonic()
    deadline = begin + duration
    while time.monotonic() < deadline:
        started = time.monotonic()
        path = "/healthz" if sent % 2 == 0 else "/jobs"
        sent += 1
        with contextlib.suppress(requests.RequestException):  # a timeout is a miss
            response = requests.get(base_url + path, timeout=within,
                                    headers={"Authorization": f"Bearer {token}",
                                             "Connection": "close"})
            elapsed = time.monotonic() - started
            latencies.append(elapsed)
            if response.status_code == 200 and elapsed <= within:
                ok += 1
        if len(missed) + ok < sent:
            missed.append(round(started - begin, 1))
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    return Outcome(sent, ok, latencies, missed)


def under_slow_clients(base_url: str, port: int, token: str, *, duration: float,
                       slow_headers: int = 32, slow_bodies: int = 8) -> Outcome:
    """The normal client's outcome while slow-header and slow-body clients trickle."""
    stop = threading.Event()
    until = time.monotonic() + duration + 1
    threads = [threading.Thread(target=slow_header_client, args=(port, until, stop), daemon=True)
               for _ in range(slow_headers)]
    threads += [threading.Thread(target=slow_body_client, args=(port, until, stop), daemon=True)
                for _ in range(slow_bodies)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # every slow client connected and trickling first
        return normal_client(base_url, token, duration)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
