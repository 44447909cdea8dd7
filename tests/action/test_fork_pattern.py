"""action/README.md's fork-safe two-workflow example is complete and works: parsed from the
README, its publishing workflow run (step by step) against a live server and the GitHub double
for the head commit of a fork's pull request."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from client.api import Client
from tests.action.conftest import ROOT, RunAction
from tests.client.conftest import seed_history, write_junit
from tests.github_double import GitHubDouble
from tests.live_server import LiveServer

README = ROOT / "action" / "README.md"


def workflows() -> dict[str, dict[str, Any]]:
    text = README.read_text()
    section = text[text.index("### Pull requests from forks"):]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return {yaml.safe_load(block)["name"]: yaml.safe_load(block) for block in blocks[:2]}


def test_no_example_uses_pull_request_target() -> None:
    assert "pull_request_target:" not in README.read_text()
    for block in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S):
        triggers = yaml.safe_load(block).get(True) or yaml.safe_load(block).get("on")
        assert "pull_request_target" not in str(triggers)


def test_the_privileged_workflow_never_runs_the_forks_code() -> None:
    flows = workflows()
    ci, publish = flows["CI"], flows["flakegate"]
    assert ci[True] == ["pull_request"] and ci["permissions"] == {"contents": "read"}
    assert publish[True] == {"workflow_run": {"workflows": ["CI"], "types": ["completed"]}}
    steps = publish["jobs"]["publish"]["steps"]
    assert not any("checkout" in str(step.get("uses", "")) for step in steps)
    declared = yaml.safe_load((ROOT / "action" / "action.yml").read_text())["inputs"]
    [gate] = [step for step in steps if "flakegate/action" in str(step.get("uses", ""))]
    assert set(gate["with"]) <= set(declared)


def _pr_step(folder: Path) -> str:
    [step] = [s for s in workflows()["flakegate"]["jobs"]["publish"]["steps"]
              if s.get("id") == "pr"]
    out = folder / "out"
    out.touch()
    subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=folder, check=True,
                   env={"GITHUB_OUTPUT": str(out), "PATH": "/usr/bin:/bin"})
    return out.read_text().strip()


@pytest.mark.parametrize(("content", "number"), [("7\n", "7"), ("7; rm -rf /\n", ""),
                                                 (None, "")])
def test_only_a_number_gets_through_from_the_forks_artifact(tmp_path: Path,
                                                            content: str | None,
                                                            number: str) -> None:
    if content is not None:
        (tmp_path / "artifacts" / "pull-request").mkdir(parents=True)
        (tmp_path / "artifacts" / "pull-request" / "number").write_text(content)
    assert _pr_step(tmp_path) == f"number={number}"


def test_the_publishing_workflow_comments_on_the_forks_pull_request(
        run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path,
        github_double: GitHubDouble) -> None:
    repo, head = "acme/widgets", uuid.uuid4().hex + "f0f0f0f0"
    job = f"{repo}/CI/e2e"
    seed_history(client, job)
    workspace = tmp_path / "workspace"
    shards = {1: [("t1", "passed"), ("t2", "passed"), ("t3", "failed")],
              2: [("t4", "passed"), ("t5", "passed")]}
    for shard, cases in shards.items():  # what actions/download-artifact leaves behind
        write_junit(workspace / "artifacts" / f"junit-{shard}", "junit.xml", cases)
    event = {"workflow_run": {"id": 4242, "run_attempt": 1, "head_sha": head,
                              "conclusion": "failure"}}
    values = {"vars.FLAKEGATE_URL": live.url, "secrets.FLAKEGATE_TOKEN": live.admin_token,
              "github.repository": repo, "steps.pr.outputs.number": "7",
              **{f"github.event.workflow_run.{k}": str(v)
                 for k, v in event["workflow_run"].items()}}
    [gate] = [s for s in workflows()["flakegate"]["jobs"]["publish"]["steps"]
              if "flakegate/action" in str(s.get("uses", ""))]
    inputs = {}
    for name, raw in gate["with"].items():
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if name == "status":  # the one compound expression: conclusion kept when known
            text = event["workflow_run"]["conclusion"]
        inputs[name] = re.sub(r"\$\{\{ *([\w.]+) *\}\}", lambda m: values[m.group(1)], text)
    github_double.state.add_pull(repo, head, 7)
    done = run_action({**inputs, "timeout": "60s", "poll": "1s"}, github={
        "GITHUB_WORKSPACE": str(workspace), "GITHUB_API_URL": github_double.api_url,
        "GITHUB_TOKEN": str(github_double.token), "GITHUB_REPOSITORY": repo,
        "GITHUB_EVENT_NAME": "workflow_run", "GITHUB_SHA": "0" * 40})
    assert done.exit_code == 1, done.log  # t3 regressed: the gate blocks
    run = client.get_run(job, "4242-1")
    assert run.payload == head and run.counts.total == 5 and len(run.files) == 2
    [comment] = github_double.state.comments_on(repo, 7)
    assert "#### Regressions (1)" in comment["body"]
    [check] = github_double.state.check_runs.values()
    assert check["head_sha"] == head
    assert github_double.state.latest_status(repo, head, "flakegate")["state"] == "failure"
