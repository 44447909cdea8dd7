"""The action's comment, check-run and commit-status inputs: the server renders
(``GET /payloads/{id}/github``), the action posts with the workflow's token, here to the
validating GitHub double."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from client.api import Client
from tests.action.conftest import RunAction
from tests.action.test_action import shard
from tests.client.conftest import seed_history
from tests.github_double import GitHubDouble
from tests.live_server import LiveServer

REPO = "acme/widgets"
FAILING = [("t1", "passed"), ("t2", "passed"), ("t3", "failed"), ("t4", "passed"),
           ("t5", "passed")]
ALL = {"comment": "true", "check-run": "true", "commit-status": "true"}


def github_env(double: GitHubDouble, sha: str, **more: str) -> dict[str, str]:
    return {"GITHUB_API_URL": double.api_url, "GITHUB_TOKEN": str(double.token),
            "GITHUB_REPOSITORY": REPO, "GITHUB_SHA": sha, **more}


def failing_payload(run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path,
                    double: GitHubDouble, sha: str, job: str) -> None:
    seed_history(client, job)
    client.put_payload(sha, expected={job: 3})
    for index in range(3):
        shard(run_action, live, tmp_path, job=job, run_id=f"r{index}", payload=sha,
              cases=FAILING, status="failure", github=github_env(double, sha))


def test_the_action_comments_posts_a_check_run_and_a_status(
        run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path,
        github_double: GitHubDouble) -> None:
    sha = uuid.uuid4().hex + "abcdef01"
    failing_payload(run_action, live, client, tmp_path, github_double, sha, "gh-action e2e")
    github_double.state.add_pull(REPO, sha, 7)
    inputs = {"server-url": live.url, "token": live.admin_token, "payload": sha,
              "wait": "true", "timeout": "60s", "poll": "1s", **ALL}
    done = run_action(inputs, github=github_env(github_double, sha))
    assert done.exit_code == 1, done.log  # the regression still fails the step
    assert "flakegate: comment on #7: created" in done.log
    [comment] = github_double.state.comments_on(REPO, 7)
    assert comment["body"].startswith("<!-- flakegate:verdict -->")
    assert "#### Regressions (1)" in comment["body"]
    [check] = github_double.state.check_runs.values()
    assert (check["head_sha"], check["conclusion"]) == (sha, "failure")
    status = github_double.state.latest_status(REPO, sha, "flakegate")
    assert status is not None and status["state"] == "failure"
    assert {c.headers["Authorization"] for c in github_double.calls()} == {
        f"Bearer {github_double.token}"}

    again = run_action(inputs, github=github_env(github_double, sha))
    assert "flakegate: comment on #7: unchanged" in again.log
    assert "flakegate: check run: updated" in again.log
    assert len(github_double.state.comments_on(REPO, 7)) == 1
    assert len(github_double.state.check_runs) == 1
    assert len(github_double.calls("issues/create-comment")) == 1


def test_a_pull_request_event_publishes_for_the_pull_requests_head(
        run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path,
        github_double: GitHubDouble) -> None:
    merge_sha, head_sha = uuid.uuid4().hex + "00000000", uuid.uuid4().hex + "11111111"
    failing_payload(run_action, live, client, tmp_path, github_double, merge_sha,
                    "gh-action pr")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 9, "pull_request": {"number": 9,
                                                               "head": {"sha": head_sha}}}))
    github_double.state.add_pull(REPO, head_sha, 9)
    done = run_action({"server-url": live.url, "token": live.admin_token, "payload": merge_sha,
                       "wait": "true", "timeout": "60s", "poll": "1s", "check-run": "true",
                       "comment": "true"},
                      github=github_env(github_double, merge_sha, GITHUB_EVENT_PATH=str(event),
                                        GITHUB_EVENT_NAME="pull_request"))
    assert done.exit_code == 1, done.log
    [check] = github_double.state.check_runs.values()
    assert check["head_sha"] == head_sha
    assert len(github_double.state.comments_on(REPO, 9)) == 1


def test_a_refused_token_warns_and_the_verdict_still_decides(
        run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path,
        github_double: GitHubDouble) -> None:
    sha = uuid.uuid4().hex + "abcdef02"
    failing_payload(run_action, live, client, tmp_path, github_double, sha, "gh-action ro")
    github_double.state.add_pull(REPO, sha, 3)
    done = run_action({"server-url": live.url, "token": live.admin_token, "payload": sha,
                       "wait": "true", "timeout": "60s", "poll": "1s", "comment": "true",
                       "github-token": "read-only-fork-token"},
                      github=github_env(github_double, sha))
    assert done.exit_code == 1, done.log
    [warning] = [w for w in done.annotations("warning") if "publish on GitHub" in w.message]
    assert "401" in warning.message
    assert github_double.state.comments == {}


@pytest.mark.parametrize("raw", ["seven", "7;8"])
def test_bad_pull_request_numbers_are_an_input_error(run_action: RunAction,
                                                     closed_port_url: str, raw: str) -> None:
    done = run_action({"server-url": closed_port_url, "pull-request": raw})
    assert done.exit_code == 2
    assert "pull-request must be pull request numbers" in done.annotations("error")[0].message


def test_the_action_edits_only_comment_authors_marked_comment(
        run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path,
        github_double: GitHubDouble) -> None:
    sha = uuid.uuid4().hex + "abcdef03"
    failing_payload(run_action, live, client, tmp_path, github_double, sha, "gh-action own")
    github_double.state.add_pull(REPO, sha, 5)
    fake = "<!-- flakegate:verdict -->\n### ✅ flakegate: passed"
    github_double.state.plant_comment(REPO, 5, fake, login="mallory")
    github_double.state.token_login = "flakegate-bot"  # a personal token's user
    inputs = {"server-url": live.url, "token": live.admin_token, "payload": sha,
              "wait": "true", "timeout": "60s", "poll": "1s", "comment": "true",
              "comment-author": "flakegate-bot"}
    done = run_action(inputs, github=github_env(github_double, sha))
    assert "flakegate: comment on #5: created" in done.log, done.log
    again = run_action(inputs, github=github_env(github_double, sha))
    assert "flakegate: comment on #5: unchanged" in again.log, again.log
    planted, ours = github_double.state.comments_on(REPO, 5)
    assert planted["body"] == fake and ours["user"]["login"] == "flakegate-bot"
    assert "#### Regressions (1)" in ours["body"]
    assert not github_double.calls("issues/update-comment")
