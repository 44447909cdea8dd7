"""Against a live server: an infra pattern added after the fact explains a payload's failed
runs through the background scan, and the same payload's verdict changes (issue 13).

Before the pattern the failed runs are evidence and their failing test blocks the payload;
once the server's scan applies the new pattern to the stored logs, the runs are classified
``infra``, excused by the job's default ``excuse`` setting, and the payload passes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from tests.live_server import LiveServer
from tests.server.conftest import ADMIN

JOB = "e2e-aws"
PAYLOAD = "4.19.0-0.nightly-live"
LOG = ("+ apt-get update\nGet:1 http://mirror/debian bookworm InRelease\n"
       "Err:2 http://mirror/debian bookworm-updates InRelease\n"
       "  Temporary failure resolving 'mirror.example'\n"
       "E: Failed to fetch http://mirror/debian/dists/bookworm-updates/InRelease\n"
       "test-007 FAILED\n")


def put_run(server: LiveServer, run_id: str, payload: str, failed: bool) -> None:
    tests = [{"name": f"test-{i:03d}", "suite": "e2e",
              "status": "failed" if failed and i == 7 else "passed"} for i in range(20)]
    response = requests.put(f"{server.url}/jobs/{JOB}/runs/{run_id}", headers=server.headers(),
                            json={"payload": payload, "status": "failure" if failed else
                                  "success", "tests": tests}, timeout=10)
    assert response.status_code in (200, 201), response.text


def verdict(server: LiveServer) -> dict[str, Any]:
    response = requests.get(f"{server.url}/payloads/{PAYLOAD}/verdict",
                            headers=server.headers(), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_infra_pattern_scanned_in_the_background_excuses_the_failed_runs(
        tmp_path: Path) -> None:
    server = LiveServer(f"sqlite:///{tmp_path / 'live.db'}", ADMIN, workers=2,
                        extra_env={"FLAKEGATE_SCAN_EVERY": "200ms"}).start()
    try:
        for index in range(30):
            put_run(server, f"h{index}", f"old-{index}", failed=False)
        assert requests.post(f"{server.url}/jobs/{JOB}/baselines", json={},
                             headers=server.headers(), timeout=30).status_code == 201
        for index in range(6):
            put_run(server, f"p{index}", PAYLOAD, failed=index < 3)
        for index in range(3):
            stored = requests.put(f"{server.url}/jobs/{JOB}/runs/p{index}/logs/build",
                                  data=LOG.encode(), timeout=10,
                                  headers={**server.headers(), "Content-Type": "text/plain"})
            assert stored.status_code in (200, 201), stored.text

        before = verdict(server)
        job = before["jobs"][0]
        assert before["verdict"] == "fail" and job["runs"]["counted"] == 6
        assert [r["test"] for r in job["regressions"]] == ["test-007"]

        made = requests.post(f"{server.url}/patterns", headers=server.headers(), timeout=10,
                             json={"expression": "Temporary failure resolving",
                                   "syntax": "literal", "tags": ["infra", "network"],
                                   "specificity": 5})
        assert made.status_code == 201, made.text
        deadline = time.monotonic() + 60
        after = verdict(server)
        while after["jobs"][0]["runs"]["counted"] != 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            after = verdict(server)
        job = after["jobs"][0]
        assert after["verdict"] == "pass", (job, server.log())
        assert job["runs"]["counted"] == 3 and job["notes"]["excused"] == 3
        assert job["failures"]["summary"] == "3/3 infra"
        assert sorted(job["failures"]["excused"]) == ["p0", "p1", "p2"]
        cause = requests.get(f"{server.url}/jobs/{JOB}/runs/p1", headers=server.headers(),
                             timeout=10).json()["failure_cause"]
        assert cause["class"] == "infra" and cause["excused_by"] == "infra"
        assert cause["decisive"]["line"] == 4 and cause["decisive"]["step"] == "build"
    finally:
        server.stop()
