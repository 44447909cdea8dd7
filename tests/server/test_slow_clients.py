"""Slow clients do not starve the API (issue 11, defect 2): requests are read in each worker's
event loop, so a trickling client holds no thread, and is cut with a 408 at its deadline.

The full measurement (32 slow-header and 8 slow-body clients for 30 s) is bench/redteam.py;
this test runs the same attack for a shorter time, long enough to cross one cut-and-reconnect
cycle of the slow clients.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from api.serving.worker import BODY_TIMEOUT, HEADER_TIMEOUT
from tests.live_server import LiveServer
from tests.server.attacks import under_slow_clients

pytestmark = pytest.mark.slow


def test_a_normal_client_is_answered_while_slow_clients_trickle(
        live_server: LiveServer) -> None:
    outcome = under_slow_clients(live_server.url, live_server.port, live_server.admin_token,
                                 duration=HEADER_TIMEOUT + 3)
    # The target: at least 95% of the normal client's requests answered within 1 s.
    assert outcome.share >= 0.95, (outcome.sent, outcome.answered_in_time, outcome.missed_at)
    assert live_server.process is not None and live_server.process.poll() is None


def _answer_after_stalling(server: LiveServer, sent: bytes, bound: float) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=bound) as sock:
        sock.sendall(sent)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data, time.monotonic() - started


@pytest.mark.parametrize(("sent", "timeout"), [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Stalled: ", HEADER_TIMEOUT),
    (b"POST /jobs/j/runs/1/junit HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n<a/>",
     BODY_TIMEOUT),
])
def test_a_stalled_request_is_cut_with_a_json_408(live_server: LiveServer, sent: bytes,
                                                  timeout: float) -> None:
    # Liveness bound: the deadline plus the event loop's one-second tick and some slack.
    data, elapsed = _answer_after_stalling(live_server, sent, timeout + 10)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), data
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert elapsed >= timeout - 0.5, "not cut before its deadline"
