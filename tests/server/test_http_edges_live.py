"""What the live server does with odd request targets, rejected requests and secrets in URLs
(issue 11, defects 3 to 5). Requests go through a raw socket: HTTP libraries normalise paths
(dot segments, ``//``) before sending, which would hide exactly what is tested here."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.live_server import LiveServer

pytestmark = pytest.mark.slow

TOKEN = "fg_edges-admin-token-long-enough-for-the-32-char-rule"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("edges") / "edges.db"
    live = LiveServer(f"sqlite:///{path}", TOKEN, workers=2).start()
    try:
        assert requests.put(f"{live.url}/jobs/seed/runs/1", json={"status": "success"},
                            headers=live.headers(), timeout=10).status_code == 201
        yield live
    finally:
        live.stop()


def _raw(server: LiveServer, request: bytes) -> tuple[int, bytes]:
    """Send ``request`` as is; the status and body of the answer (the server closes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _get(server: LiveServer, target: str, *, method: str = "GET", extra: str = "") -> tuple[
        int, bytes]:
    return _raw(server, (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         f"Authorization: Bearer {TOKEN}\r\nConnection: close\r\n"
                         f"Content-Length: 0\r\n{extra}\r\n").encode("latin-1"))


def _run_job(body: bytes) -> str:
    return str(json.loads(body)["job"])


@pytest.mark.parametrize("target", [
    "/healthz/x://y/jobs/seed/runs/1",     # the decoy: was served as /jobs/seed/runs/1
    "/jobs/x://y/jobs/seed/runs/1",
    "/jobs//runs/1", "/jobs/seed//runs/1", "//jobs/seed/runs/1", "/jobs/seed/runs//1",
    "/jobs/./seed/runs/1", "/jobs/seed/runs/./1", "/healthz/../jobs/seed/runs/1",
    "/jobs/seed/../seed/runs/1", "/jobs/../jobs/seed/runs/1",
    "/jobs/se%00ed/runs/1", "/jobs/seed;x/runs/1", "/jobs/seed/runs/1;x",
])
def test_an_odd_path_is_never_served_as_another_resource(server: LiveServer,
                                                         target: str) -> None:
    status, body = _get(server, target)
    assert status == 404, (target, status, body)
    assert set(json.loads(body)["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("target", [
    "/jobs/seed/runs/1", "http://127.0.0.1/jobs/seed/runs/1", "HTTPS://example/jobs/seed/runs/1",
    "/jobs/seed/runs/1?x=a://b",
])
def test_origin_and_absolute_form_targets_name_the_run(server: LiveServer, target: str) -> None:
    status, body = _get(server, target)
    assert status == 200, (target, status, body)
    assert _run_job(body) == "seed"


def test_a_job_name_may_hold_scheme_like_text_when_encoded(server: LiveServer) -> None:
    status, body = _raw(server, (
        f"PUT /jobs/a%3A%2F%2Fb/runs/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}"
        "\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
        '{"status": "success"}').encode())
    assert status == 201, body
    assert _run_job(body) == "a://b"
    status, body = _get(server, "/jobs/a:%2F%2Fb/runs/1")
    assert status == 200 and _run_job(body) == "a://b", body


@pytest.mark.parametrize("target", ["/jobs/../runs/1", "/jobs/./runs/1", "/jobs/%00/runs/1"])
def test_odd_paths_create_nothing(server: LiveServer, target: str) -> None:
    status, _ = _raw(server, (
        f"PUT {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Connection: close\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
        '{"status": "success"}').encode())
    assert status in (404, 422), (target, status)


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    (b"GET /healthz?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431,
     "headers_too_large"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: " + b"b" * 9000 + b"\r\n\r\n", 431,
     "headers_too_large"),
    (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n", 400, "bad_request"),
])
def test_rejections_before_the_app_answer_in_the_error_shape(
        server: LiveServer, request_bytes: bytes, status: int, code: str) -> None:
    got, body = _raw(server, request_bytes)
    assert got == status, body
    assert json.loads(body) == {"error": {"code": code, "message": json.loads(body)["error"][
        "message"], "details": None}}


def test_no_secret_reaches_the_log(server: LiveServer) -> None:
    secrets = {name: f"SECRET-{name}-0451" for name in
               ("access_token", "Token", "API_KEY", "client_secret")}
    query = "&".join(f"{name}={value}" for name, value in secrets.items())
    bearer = "fg_bearer-SECRET-9b1f"
    response = requests.get(f"{server.url}/jobs/seed/runs/1?{query}&page=2", timeout=10,
                            headers={"Authorization": f"Bearer {bearer}",
                                     "Referer": f"http://ci/?access_token={secrets['Token']}"})
    assert response.status_code == 401  # the bearer is no token of this server
    # Rejected before the app too: the request line is in the error path's log.
    _raw(server, f"GET /healthz?access_token={secrets['access_token']} HTTP/1.1\r\n"
                 f"Authorization: Bearer {bearer}\r\nBad Header: x\r\n\r\n".encode())
    ok = requests.get(f"{server.url}/healthz?api_key={secrets['API_KEY']}", timeout=10,
                      headers=server.headers())
    assert ok.status_code == 200
    log = server.log_path.read_text(errors="replace") if server.log_path else ""
    assert "page=2" in log and "api_key=[REDACTED]" in log, "the lines are there, masked"
    for secret in [*secrets.values(), bearer, TOKEN]:
        assert secret not in log
