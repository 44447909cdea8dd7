"""Bounded work per upload request, against the live server (issue 11, item 3): a multipart
gzip bomb is refused 413 within seconds while /healthz keeps answering, a chunked body over the
limit is a 413 (not cut and parsed), and too many parts is a 413 that names MAX_PARTS.

Liveness checks, not benchmarks: the bounds are generous for a loaded 2-core machine."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.live_server import LiveServer

pytestmark = pytest.mark.slow

TOKEN = "fg_bounded-admin-token-long-enough-for-the-32-char-rule"
RUN = "/jobs/j/runs/1/junit"
# A member that inflates ~1000x: 60 MB of well-formed whitespace inside a root element, so
# only the request's decompressed budget (256 MiB by default) can stop the parse.
BOMB_PART = gzip.compress(b"<testsuites>" + b" " * (60 * 1000 * 1000) + b"</testsuites>")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("bounded") / "bounded.db"
    live = LiveServer(f"sqlite:///{path}", TOKEN, workers=2).start()
    try:
        for run in ("1", "2"):
            assert requests.put(f"{live.url}/jobs/j/runs/{run}", json={"status": "success"},
                                headers=live.headers(), timeout=10).status_code == 201
        yield live
    finally:
        live.stop()


def _bomb(server: LiveServer, run: str, answers: list[tuple[int, float, dict[str, object]]]
          ) -> None:
    files = [("file", (f"bomb{i}.xml.gz", BOMB_PART, "application/gzip")) for i in range(150)]
    started = time.monotonic()
    response = requests.post(f"{server.url}/jobs/j/runs/{run}/junit", files=files,
                             headers=server.headers(), timeout=60)
    answers.append((response.status_code, time.monotonic() - started, response.json()))


def test_a_multipart_bomb_is_413_within_5_s_while_healthz_answers(server: LiveServer) -> None:
    answers: list[tuple[int, float, dict[str, object]]] = []
    clients = [threading.Thread(target=_bomb, args=(server, run, answers)) for run in "12"]
    for client in clients:
        client.start()
    health: list[float] = []
    while any(client.is_alive() for client in clients):
        started = time.monotonic()
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        health.append(time.monotonic() - started)
        time.sleep(0.2)
    for client in clients:
        client.join()
    assert [status for status, _, _ in answers] == [413, 413], answers
    assert all(body["error"]["details"]["limit"] == "MAX_DECOMPRESSED_BYTES"  # type: ignore[index]
               for _, _, body in answers)
    assert max(seconds for _, seconds, _ in answers) < 5.0, answers
    assert health and max(health) < 5.0


def test_a_chunked_body_over_the_limit_is_413(server: LiveServer) -> None:
    chunk = b" " * (1 << 20)

    def body() -> Iterator[bytes]:
        yield b"<testsuites>"
        for _ in range(70):  # 70 MiB: past the 64 MiB body limit
            yield chunk

    response = requests.post(f"{server.url}{RUN}", data=body(), timeout=60,
                             headers={**server.headers(), "Content-Type": "application/xml"})
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "too_large"


def test_too_many_parts_is_413_naming_max_parts(server: LiveServer) -> None:
    files = [("file", (f"f{i}.xml", b"<testsuite/>", "application/xml")) for i in range(1001)]
    response = requests.post(f"{server.url}{RUN}", files=files, headers=server.headers(),
                             timeout=60)
    assert response.status_code == 413, response.text[:300]
    error = response.json()["error"]
    assert error["code"] == "too_many_parts" and error["details"]["limit"] == "MAX_PARTS"
    assert "MAX_PARTS" in error["message"]
