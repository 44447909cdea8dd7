"""Verdicts from a real server (GET /payloads/{id}/verdict): the client's parsing, waiting,
ETag revalidation, and the CLI's exit codes, on one job with a clean history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from client import errors
from client.api import Client
from client.cli import main
from client.exit_status import ExitStatus
from tests.client.conftest import TESTS, quick_backoff, seed_history
from tests.live_server import LiveServer

JOB = "verdict e2e (aws)/serial"


@dataclass(frozen=True)
class Payloads:
    good: str
    bad: str
    waiting: str


@pytest.fixture(scope="module")
def payloads(live: LiveServer) -> Iterator[Payloads]:
    with Client(live.url, live.admin_token, backoff=quick_backoff()) as client:
        seed_history(client, JOB)
        made = Payloads(good="4.19.0-good", bad="4.19.0-bad", waiting="4.19.0/waiting ?")
        for payload, failing, runs in ((made.good, None, 3), (made.bad, "t3", 3),
                                       (made.waiting, None, 1)):
            client.put_payload(payload, expected={JOB: 3})
            for index in range(runs):
                client.put_run(JOB, f"{payload}-{index}", payload=payload,
                               status="failure" if failing else "success",
                               tests=[{"name": name, "suite": "unit",
                                       "status": "failed" if name == failing else "passed"}
                                      for name in TESTS])
        yield made


def test_a_regressed_payload_fails_with_evidence(client: Client, payloads: Payloads) -> None:
    verdict = client.get_verdict(payloads.bad)
    assert verdict.failed and verdict.payload == payloads.bad
    [job] = verdict.jobs
    assert job.job == JOB and job.verdict == "fail"
    assert job.runs.expected == 3 and job.runs.finished == 3 and job.runs.pending == 0
    assert job.baseline is not None and job.baseline.runs >= 20
    [(job_name, regression)] = verdict.regressions
    assert (job_name, regression.test, regression.suite) == (JOB, "t3", "unit")
    assert (regression.passes, regression.failures) == (0, 3)
    assert regression.baseline_pass_rate is not None and regression.baseline_pass_rate > 0.9
    assert verdict.etag


def test_a_good_payload_passes(client: Client, payloads: Payloads) -> None:
    verdict = client.get_verdict(payloads.good)
    assert verdict.passed and verdict.regressions == []
    assert client.wait_for_verdict(payloads.good, timeout=5, poll=1).passed


@pytest.mark.parametrize("policy", ["bayes", "aggregator", "stddev"])
def test_each_policy_can_be_asked_for(client: Client, payloads: Payloads, policy: str) -> None:
    verdict = client.get_verdict(payloads.bad, policy=policy)
    assert verdict.policy == policy and verdict.failed


def test_markdown_comes_from_the_server(client: Client, payloads: Payloads) -> None:
    text = client.get_verdict(payloads.bad, format="markdown")
    assert isinstance(text, str) and "t3" in text


def test_waiting_on_a_pending_payload_revalidates_then_times_out(
        live: LiveServer, payloads: Payloads) -> None:
    statuses: list[int] = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, **_: statuses.append(response.status_code))
    with Client(live.url, live.admin_token, session=session) as client, \
            pytest.raises(errors.VerdictPending) as caught:
        client.wait_for_verdict(payloads.waiting, timeout=1.0, poll=0.25)
    assert caught.value.verdict is not None and caught.value.verdict.pending
    assert caught.value.verdict.jobs[0].runs.finished == 1
    assert statuses[0] == 200 and 304 in statuses[1:]  # unchanged: answered by the ETag


def test_an_unknown_payload_is_not_found(client: Client) -> None:
    with pytest.raises(errors.NotFoundError):
        client.get_verdict("no-such-payload-anywhere")


@pytest.fixture
def cli_env(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "PROW_JOB_ID", "JENKINS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLAKEGATE_URL", live.url)
    monkeypatch.setenv("FLAKEGATE_TOKEN", live.admin_token)


def test_cli_exit_codes_from_a_live_server(cli_env: None, payloads: Payloads,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verdict", payloads.good]) == ExitStatus.OK
    assert main(["verdict", payloads.bad, "--format", "markdown"]) == ExitStatus.REGRESSION
    assert "### Regressions" in capsys.readouterr().out
    assert main(["verdict", payloads.waiting]) == ExitStatus.PENDING
    assert main(["verdict", payloads.waiting, "--wait", "--timeout", "1s",
                 "--poll", "250ms"]) == ExitStatus.PENDING
    assert main(["verdict", payloads.bad, "--wait", "--timeout", "1m"]) == ExitStatus.REGRESSION
    assert main(["verdict", "no-such-payload-anywhere"]) == ExitStatus.ERROR
