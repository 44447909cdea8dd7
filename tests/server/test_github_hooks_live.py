"""GitHub webhooks against a live gunicorn server and the GitHub double: signatures, ping,
redeliveries, ten parallel jobs recorded with their failed logs classified, and a delivery
acknowledged by a server killed at once is worked off after the restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.github_deliveries import Delivery, build_delivery, workflow_job_completed
from tests.github_double import GitHubDouble
from tests.live_server import LiveServer
from tests.server.conftest import ADMIN

SECRET = "live-hook-secret"
REPO = "octo/repo"
SHA = "d" * 40
INFRA_LOG = (b"Run ./ci/setup.sh\nGet:1 http://mirror/debian bookworm InRelease\n"
             b"  Temporary failure resolving 'mirror.example'\n"
             b"Error: Process completed with exit code 100.\n")
TEST_LOG = (b"Run pytest\n=== FAILURES ===\nE   AssertionError: assert 3 == 4\n"
            b"Error: Process completed with exit code 1.\n")


def server_env(double: GitHubDouble, work_every: str = "200ms",
               publish_delay: str = "0") -> dict[str, str]:
    return {"FLAKEGATE_GITHUB_WEBHOOK_SECRET": SECRET, "FLAKEGATE_WORK_EVERY": work_every,
            "FLAKEGATE_GITHUB_API_URL": double.api_url,
            "FLAKEGATE_GITHUB_TOKEN": str(double.token), "FLAKEGATE_GITHUB_MAX_WAIT": "5",
            "FLAKEGATE_GITHUB_PUBLISH_DELAY": publish_delay, "FLAKEGATE_SCAN_EVERY": "200ms",
            "FLAKEGATE_PUBLIC_URL": "https://flakegate.example"}


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def starter(env: dict[str, str]) -> LiveServer:
        server = LiveServer(f"sqlite:///{tmp_path / 'live.db'}", ADMIN, workers=2,
                            extra_env=env).start()
        servers.append(server)
        return server

    yield starter
    for server in servers:
        server.stop()


def post(server: LiveServer, delivery: Delivery) -> requests.Response:
    return requests.post(f"{server.url}/hooks/github", data=delivery.body, timeout=10,
                         headers={**delivery.headers, "Content-Type": "application/json"})


def get_run(server: LiveServer, job: str, run_id: str) -> requests.Response:
    return requests.get(f"{server.url}/jobs/{quote(job, safe='')}/runs/{run_id}",
                        headers=server.headers(), timeout=10)


def wait_for(what: Callable[[], Any], *, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def job_delivery(double: GitHubDouble, index: int, conclusion: str,
                 log: bytes | None, run_id: int = 900) -> Delivery:
    name = f"shard-{index}"
    double.state.add_job(REPO, run_id, 9000 + index, name=name, head_sha=SHA,
                         conclusion=conclusion, log=log)
    return workflow_job_completed(secret=SECRET, repository=REPO, run_id=run_id,
                                  job_id=9000 + index, name=name, workflow_name="CI",
                                  head_sha=SHA, conclusion=conclusion)


def test_signature_ping_and_redelivery(start: Callable[..., LiveServer],
                                       github_double: GitHubDouble) -> None:
    server = start(server_env(github_double))
    ping = build_delivery("ping", secret=SECRET)
    answer = post(server, ping)
    assert answer.status_code == 200 and answer.json()["zen"] == ping.payload["zen"]
    forged = job_delivery(github_double, 0, "failure", TEST_LOG)
    bad = requests.post(f"{server.url}/hooks/github", data=forged.body, timeout=10,
                        headers={**forged.headers, "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "bad_signature"
    assert post(server, forged).status_code == 202
    assert post(server, forged).status_code == 200  # a redelivery
    run = wait_for(lambda: get_run(server, f"{REPO}/CI/shard-0", "900-1").ok)
    assert run
    wait_for(lambda: github_double.calls("actions/download-job-logs-for-workflow-run"))
    time.sleep(1.0)  # let any second (wrong) piece of work happen
    assert len(github_double.calls("actions/download-job-logs-for-workflow-run")) == 1
    logs = requests.get(f"{server.url}/jobs/{quote(f'{REPO}/CI/shard-0', safe='')}/runs/900-1"
                        "/logs", headers=server.headers(), timeout=10).json()
    assert [item["step"] for item in logs["items"]] == ["shard-0"]


def test_ten_parallel_jobs_three_failing_are_recorded_classified_and_published(
        start: Callable[..., LiveServer], github_double: GitHubDouble) -> None:
    # The publication waits 3 s after the first job: the ten finish within it, and publish once.
    server = start(server_env(github_double, publish_delay="3s"))
    github_double.state.add_pull(REPO, SHA, 12)
    made = requests.post(f"{server.url}/patterns", headers=server.headers(), timeout=10,
                         json={"expression": "Temporary failure resolving",
                               "syntax": "literal", "tags": ["infra"], "specificity": 5})
    assert made.status_code == 201, made.text
    failing = {2: INFRA_LOG, 5: INFRA_LOG, 8: TEST_LOG}
    deliveries = [job_delivery(github_double, i, "failure" if i in failing else "success",
                               failing.get(i)) for i in range(10)]
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda d: post(server, d).status_code, deliveries))
    assert answers == [202] * 10

    def all_recorded() -> bool:
        return all(get_run(server, f"{REPO}/CI/shard-{i}", "900-1").ok for i in range(10))

    wait_for(all_recorded)
    for i in range(10):
        run = get_run(server, f"{REPO}/CI/shard-{i}", "900-1").json()
        assert run["status"] == ("failure" if i in failing else "success")
        assert run["payload"] == SHA and run["metadata"]["repository"] == REPO

    def cause(i: int) -> Any:
        return get_run(server, f"{REPO}/CI/shard-{i}", "900-1").json().get("failure_cause")

    def decided(i: int) -> Any:
        found = cause(i)
        return found if found and found.get("decisive") else None

    # The logs fetched from GitHub were scanned on arrival like uploaded ones: the infra
    # pattern explains two failures; the assertion is a new failure.
    for i in (2, 5):
        infra = wait_for(lambda i=i: decided(i))
        assert infra["class"] == "infra" and infra["decisive"]["step"] == f"shard-{i}"
    assert cause(8)["class"] == "new" and cause(8)["decisive"] is None
    log = requests.get(f"{server.url}/jobs/{quote(f'{REPO}/CI/shard-8', safe='')}/runs/900-1"
                       "/logs/shard-8", headers=server.headers(), timeout=10)
    assert "AssertionError: assert 3 == 4" in log.text
    assert len(github_double.calls("actions/download-job-logs-for-workflow-run")) == 3

    # One status (its context), one check run, one comment on the pull request.
    def comment() -> Any:
        found = github_double.state.comments_on(REPO, 12)
        return found[0] if found else None

    first = dict(wait_for(comment))  # a copy: the double edits its own in place
    status = github_double.state.latest_status(REPO, SHA, "flakegate")
    assert status is not None and status["state"] == "failure"
    assert status["target_url"] == f"https://flakegate.example/ui/payloads/{SHA}"
    assert {s["context"] for s in github_double.state.statuses[(REPO, SHA)]} == {"flakegate"}
    [check] = github_double.state.check_runs.values()
    assert check["name"] == "flakegate" and check["head_sha"] == SHA
    assert "Infra" in first["body"]
    assert len(github_double.calls("checks/create")) == 1
    assert len(github_double.calls("issues/create-comment")) == 1
    # A later job of the same commit: the same comment is edited, no new one.
    later = job_delivery(github_double, 10, "failure", TEST_LOG)
    assert post(server, later).status_code == 202
    wait_for(lambda: github_double.calls("issues/update-comment"))
    [edited] = github_double.state.comments_on(REPO, 12)
    assert edited["id"] == first["id"] and edited["body"] != first["body"]
    assert len(github_double.calls("issues/create-comment")) == 1
    assert len(github_double.state.check_runs) == 1


def test_a_delivery_acknowledged_before_a_crash_is_worked_after_the_restart(
        start: Callable[..., LiveServer], github_double: GitHubDouble) -> None:
    # The first server does no background work: the delivery is only acknowledged (stored),
    # then the whole server is SIGKILLed, as in a crash right after the answer.
    first = start(server_env(github_double, work_every="0"))
    delivery = job_delivery(github_double, 1, "failure", TEST_LOG, run_id=901)
    assert post(first, delivery).status_code == 202
    first.kill()
    second = start(server_env(github_double))
    wait_for(lambda: get_run(second, f"{REPO}/CI/shard-1", "901-1").ok)
    assert post(second, delivery).status_code == 200  # still known after the restart
    work = requests.get(f"{second.url}/work?kind=github.delivery", headers=second.headers(),
                        timeout=10).json()["items"]
    assert [(item["key"], item["attempts"]) for item in work] == [(delivery.delivery_id, 1)]
    wait_for(lambda: requests.get(f"{second.url}/work?kind=github.delivery&state=done",
                                  headers=second.headers(), timeout=10).json()["items"])
