"""Store faults against the live server (issue 11, items 4 and 8): a database deleted while
serving answers 503 with Retry-After and is never re-created by a request, and the
unauthenticated /healthz says "store unavailable" without naming a path."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.live_server import LiveServer

pytestmark = pytest.mark.slow

TOKEN = "fg_faults-admin-token-long-enough-for-the-32-char-rule"


def test_a_database_deleted_while_serving_stays_gone_and_answers_503(tmp_path: Path) -> None:
    path = tmp_path / "faults.db"
    server = LiveServer(f"sqlite:///{path}", TOKEN, workers=2).start()
    try:
        assert requests.put(f"{server.url}/jobs/j/runs/1", json={"status": "success"},
                            headers=server.headers(), timeout=10).status_code == 201
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        for _ in range(4):  # both workers, reads and writes
            for response in (
                requests.get(f"{server.url}/jobs", headers=server.headers(), timeout=10),
                requests.put(f"{server.url}/jobs/j/runs/2", json={"status": "success"},
                             headers=server.headers(), timeout=10),
                requests.get(f"{server.url}/healthz", timeout=10),
            ):
                assert response.status_code == 503, response.text
                assert response.headers.get("Retry-After")
                assert str(tmp_path) not in response.text and "faults.db" not in response.text
        assert requests.get(f"{server.url}/healthz", timeout=10).json()["error"]["message"] \
            == "store unavailable"
        assert not path.exists()
    finally:
        server.stop()
