"""The main HTTP flow under gunicorn (2 workers) on a PostgreSQL store: ``flakegate serve
--db postgresql://...`` migrates it, runs are uploaded, a baseline is written, and verdicts
(with their ETags) agree across workers; one per worker process pool, no reconnect per request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.live_server import LiveServer
from tests.postgres_server import shared_postgres
from tests.server.conftest import ADMIN

pytestmark = pytest.mark.slow
JOB = "e2e (aws)/ovn"
TESTS = [f"test-{index:02d}" for index in range(30)]


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[LiveServer]:
    url = shared_postgres().fresh_url()
    server = LiveServer(url, ADMIN, workers=2, log_dir=tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def _put_run(session: requests.Session, server: LiveServer, run_id: str, payload: str,
             broken: str | None = None) -> requests.Response:
    tests = [{"name": name, "suite": "e2e",
              "status": "failed" if name == broken else "passed"} for name in TESTS]
    return session.put(f"{server.url}/jobs/{quote(JOB, safe='')}/runs/{run_id}",
                       json={"payload": payload, "status": "success", "tests": tests},
                       timeout=30)


def test_upload_baseline_and_verdict_on_postgres(pg_server: LiveServer) -> None:
    session = requests.Session()
    session.headers.update(pg_server.headers())
    for index in range(30):
        response = _put_run(session, pg_server, f"h{index}", f"old-{index}")
        assert response.status_code == 201, response.text
    # An identical re-send changes nothing.
    assert _put_run(session, pg_server, "h0", "old-0").status_code == 200
    response = session.post(f"{pg_server.url}/jobs/{quote(JOB, safe='')}/baselines", json={},
                            timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["runs"] == 30

    assert _put_run(session, pg_server, "new-bad", "p-bad", broken="test-07").status_code == 201
    assert _put_run(session, pg_server, "new-good", "p-good").status_code == 201
    bad = session.get(f"{pg_server.url}/payloads/p-bad/verdict", timeout=30)
    good = session.get(f"{pg_server.url}/payloads/p-good/verdict", timeout=30)
    assert bad.status_code == good.status_code == 200, (bad.text, good.text)
    assert bad.json()["verdict"] == "fail"
    assert good.json()["verdict"] == "pass"

    # Both workers answer with the same ETag and honour it.
    etags = {session.get(f"{pg_server.url}/payloads/p-bad/verdict", timeout=30).headers["ETag"]
             for _ in range(6)}
    assert len(etags) == 1
    again = session.get(f"{pg_server.url}/payloads/p-bad/verdict", timeout=30,
                        headers={"If-None-Match": etags.pop()})
    assert again.status_code == 304
    runs = session.get(f"{pg_server.url}/jobs/{quote(JOB, safe='')}/runs?limit=100", timeout=30)
    assert runs.status_code == 200
    assert len(runs.json()["items"]) == 32
