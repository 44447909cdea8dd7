"""The verdict end to end over real HTTP (gunicorn, 2 workers): pending -> final, deadlines,
ETag revalidation across workers. Bounded: every wait has a deadline of a few seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests

from tests.live_server import LiveServer

pytestmark = pytest.mark.slow
JOB = "e2e (aws)/ovn"
TESTS = [f"test-{index:02d}" for index in range(30)]


def _session(server: LiveServer) -> requests.Session:
    session = requests.Session()
    session.headers.update(server.headers())
    return session


def _put_run(session: requests.Session, server: LiveServer, run_id: str, payload: str,
             broken: str | None = None, status: str = "success") -> None:
    tests = [{"name": name, "suite": "e2e",
              "status": "failed" if name == broken else "passed"} for name in TESTS]
    response = session.put(f"{server.url}/jobs/{quote(JOB, safe='')}/runs/{run_id}",
                           json={"payload": payload, "status": status, "tests": tests},
                           timeout=30)
    assert response.status_code in (200, 201), response.text


def _history(session: requests.Session, server: LiveServer) -> None:
    for index in range(30):
        _put_run(session, server, f"h{index}", f"old-{index}")
    response = session.post(f"{server.url}/jobs/{quote(JOB, safe='')}/baselines", json={},
                            timeout=30)
    assert response.status_code == 201


def _verdict(session: requests.Session, server: LiveServer, payload: str) -> dict:
    response = session.get(f"{server.url}/payloads/{payload}/verdict", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_pending_becomes_fail_as_runs_finish(live_server: LiveServer) -> None:
    session = _session(live_server)
    _history(session, live_server)
    session.put(f"{live_server.url}/payloads/rc.1", json={"expected": {JOB: 3}}, timeout=30)
    _put_run(session, live_server, "p0", "rc.1", broken="test-05", status="failure")
    _put_run(session, live_server, "p1", "rc.1", status="pending")
    first = _verdict(session, live_server, "rc.1")
    assert first["verdict"] == "pending"
    assert first["jobs"][0]["runs"] == {"expected": 3, "finished": 1, "counted": 1,
                                        "pending": 2}
    _put_run(session, live_server, "p1", "rc.1", broken="test-05", status="failure")
    assert _verdict(session, live_server, "rc.1")["verdict"] == "pending"
    _put_run(session, live_server, "p2", "rc.1", broken="test-05", status="failure")
    final = _verdict(session, live_server, "rc.1")
    assert final["verdict"] == "fail"
    assert [r["test"] for r in final["jobs"][0]["regressions"]] == ["test-05"]


def test_the_deadline_turns_pending_into_a_judgement_of_what_finished(
        live_server: LiveServer) -> None:
    session = _session(live_server)
    _history(session, live_server)
    deadline = datetime.now(UTC) + timedelta(seconds=3)
    session.put(f"{live_server.url}/payloads/rc.2",
                json={"expected": {JOB: 5}, "deadline": deadline.isoformat()}, timeout=30)
    for index in range(2):
        _put_run(session, live_server, f"q{index}", "rc.2")
    assert _verdict(session, live_server, "rc.2")["verdict"] == "pending"
    while datetime.now(UTC) < deadline + timedelta(milliseconds=200):
        time.sleep(0.1)
    after = _verdict(session, live_server, "rc.2")
    assert after["deadline_passed"] is True
    assert after["verdict"] == "pass"
    assert "deadline passed with 2 of 5 runs finished" in after["jobs"][0]["reason"]


def test_etags_agree_across_workers_and_change_with_the_payload(
        live_server: LiveServer) -> None:
    session = _session(live_server)
    _history(session, live_server)
    for index in range(3):
        _put_run(session, live_server, f"r{index}", "rc.3")
    etag = session.get(f"{live_server.url}/payloads/rc.3/verdict", timeout=30).headers["ETag"]
    # Fresh connections land on either worker: each must recognise the other's ETag.
    for _ in range(6):
        again = requests.get(f"{live_server.url}/payloads/rc.3/verdict", timeout=30,
                             headers={**live_server.headers(), "If-None-Match": etag})
        assert again.status_code == 304
    _put_run(session, live_server, "r3", "rc.3", broken="test-01", status="failure")
    changed = requests.get(f"{live_server.url}/payloads/rc.3/verdict", timeout=30,
                           headers={**live_server.headers(), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
