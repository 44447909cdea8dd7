"""The whole HTTP flow on the BigQuery backend, under the real gunicorn server (2 workers):
ingest runs with tests and JUnit, compute a baseline, get verdicts, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.bigquery.emulator import Emulator
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow
ADMIN = "fg_bq-admin-token-long-enough-for-the-32-char-rule"
JOB = "e2e (gcp)/bq"
TESTS = [f"test-{index:02d}" for index in range(20)]


class _BigQueryLiveServer(LiveServer):
    """LiveServer puts its log beside the sqlite file; a bigquery URL has none, so the log
    goes to the test's folder instead (set before start)."""

    log_folder: Path = Path(".")

    @property  # type: ignore[override]
    def log_path(self) -> Path | None:
        return self.__dict__.get("_log")

    @log_path.setter
    def log_path(self, value: Path | None) -> None:
        self.__dict__["_log"] = None if value is None else self.log_folder / value.name


@pytest.fixture
def server(bq_emulator: Emulator, bq_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = _BigQueryLiveServer(bq_url, ADMIN, workers=2,
                               extra_env=bq_emulator.environ())
    live.log_folder = tmp_path
    live.start(ready_timeout=60)
    try:
        yield live
    finally:
        live.stop()


def _put_run(session: requests.Session, url: str, run_id: str, payload: str,
             broken: str | None = None) -> None:
    tests = [{"name": name, "suite": "e2e", "status": "failed" if name == broken else "passed"}
             for name in TESTS]
    response = session.put(f"{url}/jobs/{quote(JOB, safe='')}/runs/{run_id}",
                           json={"payload": payload, "status": "failure" if broken else "success",
                                 "tests": tests}, timeout=30)
    assert response.status_code in (200, 201), response.text


JUNIT = b"""<?xml version="1.0"?>
<testsuite name="junit" tests="2"><testcase classname="junit" name="extra-a"/>
<testcase classname="junit" name="extra-b"><failure message="boom">trace</failure></testcase>
</testsuite>"""


def test_ingest_baseline_and_verdict_over_http(server: LiveServer) -> None:
    session = requests.Session()
    session.headers.update(server.headers())
    base = server.url
    for index in range(12):
        _put_run(session, base, f"h{index}", f"old-{index}")
    again = session.put(f"{base}/jobs/{quote(JOB, safe='')}/runs/h0",
                        json={"payload": "old-0", "status": "success",
                              "tests": [{"name": n, "suite": "e2e", "status": "passed"}
                                        for n in reversed(TESTS)]}, timeout=30)
    assert again.status_code == 200, "an identical re-put is a no-op"
    junit = session.post(f"{base}/jobs/{quote(JOB, safe='')}/runs/h1/junit", data=JUNIT,
                         headers={"Content-Type": "application/xml"}, timeout=30)
    assert junit.status_code in (200, 201), junit.text
    run = session.get(f"{base}/jobs/{quote(JOB, safe='')}/runs/h1", timeout=30).json()
    assert run["counts"]["total"] == len(TESTS) + 2 and len(run["files"]) == 1

    baseline = session.post(f"{base}/jobs/{quote(JOB, safe='')}/baselines", json={}, timeout=60)
    assert baseline.status_code == 201, baseline.text
    current = session.get(f"{base}/jobs/{quote(JOB, safe='')}/baseline", timeout=30)
    assert current.status_code == 200 and current.json()["baseline"]["version"] == 1

    assert session.put(f"{base}/payloads/rc.1", json={"expected": {JOB: 3}},
                       timeout=30).status_code in (200, 201)
    _put_run(session, base, "p0", "rc.1", broken="test-05")
    pending = session.get(f"{base}/payloads/rc.1/verdict", timeout=30).json()
    assert pending["verdict"] == "pending"
    for run_id in ("p1", "p2"):
        _put_run(session, base, run_id, "rc.1", broken="test-05")
    verdict = session.get(f"{base}/payloads/rc.1/verdict", timeout=30).json()
    assert verdict["verdict"] == "fail", verdict
    [job] = verdict["jobs"]
    assert job["runs"]["counted"] == 3 and job["baseline"]["version"] == 1
    assert [r["test"] for r in job["regressions"]] == ["test-05"]

    for run_id in ("g0", "g1", "g2"):
        _put_run(session, base, run_id, "rc.2")
    good = session.get(f"{base}/payloads/rc.2/verdict", timeout=30).json()
    assert good["jobs"][0]["regressions"] == [] and good["verdict"] == "pass", good
