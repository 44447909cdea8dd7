"""A live flakegate server (gunicorn, real store) shared by the client tests of a session, and
helpers to put data in it. Tests use their own job and payload names, so sharing is safe."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client.api import Client
from client.retry import Backoff
from tests.conftest import junit_xml
from tests.live_server import LiveServer

ADMIN = "fg_client-tests-admin-long-enough-for-the-32-char-rule"
_names = itertools.count()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("client-live") / "flakegate.db"
    server = LiveServer(f"sqlite:///{database}", ADMIN, workers=2).start()
    try:
        yield server
    finally:
        server.stop()


def quick_backoff() -> Backoff:
    return Backoff(base=0.001, cap=0.01)


@pytest.fixture
def client(live: LiveServer) -> Iterator[Client]:
    with Client(live.url, live.admin_token, backoff=quick_backoff()) as fresh:
        yield fresh


@pytest.fixture
def unique() -> str:
    """A name no other test uses, with characters that need escaping in a URL."""
    return f"e2e (aws)/{next(_names)} {uuid.uuid4().hex[:6]}"


def write_junit(folder: Path, name: str, cases: list[tuple[str, str]]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(junit_xml(cases))
    return path


TESTS = [f"t{index}" for index in range(1, 6)]


def seed_history(client: Client, job: str, *, runs: int = 20) -> None:
    """A job whose five tests always passed on other payloads, with a stored baseline: the
    background against which a payload's failures are judged."""
    for index in range(runs):
        client.put_run(job, f"history-{index}", payload=f"history-payload-{index}",
                       status="success",
                       tests=[{"name": name, "suite": "unit", "status": "passed"}
                              for name in TESTS])
    client.compute_baseline(job)


def regression_body(test: str, *, suite: str = "unit", passes: int = 0,
                    failures: int = 3) -> dict[str, Any]:
    return {"test": test, "suite": suite, "passes": passes, "failures": failures,
            "baseline_pass_rate": 0.998, "allowed_failures": 1, "p_value": 1.2e-9,
            "reason": f"{failures} of {passes + failures} runs failed; history passes 99.8%"}


def verdict_body(verdict: str = "fail", *, payload: str = "4.19.0-0.nightly-2026-11-20-101010",
                 regressions: int = 1, job: str = "e2e-aws", finished: int = 10,
                 expected: int = 10) -> dict[str, Any]:
    """A verdict as the contract shapes it (the lead's endpoint; see the issue)."""
    job_verdict = "pass" if verdict == "pass" else verdict
    return {
        "payload": payload, "verdict": verdict, "policy": "bayes",
        "deadline": "2026-11-21T06:00:00+00:00", "deadline_passed": False,
        "jobs": [
            {"job": job, "verdict": job_verdict, "policy": "bayes",
             "runs": {"expected": expected, "finished": finished, "counted": finished,
                      "pending": expected - finished},
             "baseline": {"version": 7, "runs": 200}, "tests_checked": 3012,
             "regressions": [regression_body(f"[sig-x] test {index} | pipes <b>")
                             for index in range(regressions if verdict == "fail" else 0)],
             "notes": {"new_test": 2, "did_not_run": 1}, "reason": "one line"},
            {"job": "e2e-gcp", "verdict": "pass", "policy": "bayes",
             "runs": {"expected": 3, "finished": 3, "counted": 3, "pending": 0},
             "baseline": None, "tests_checked": 12, "regressions": [], "notes": {},
             "reason": "no regressions"},
        ],
    }
