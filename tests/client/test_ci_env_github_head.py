"""The commit GitHub publications go to, recorded by the client in GitHub Actions."""

from __future__ import annotations

import json
from pathlib import Path

from client.ci_env import detect, github_head_sha

MERGE, HEAD = "a" * 40, "b" * 40


def env(tmp_path: Path, event: object) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo/widgets",
            "GITHUB_RUN_ID": "5", "GITHUB_SHA": MERGE, "GITHUB_EVENT_PATH": str(path)}


def test_a_pull_request_workflow_records_the_pull_requests_head(tmp_path: Path) -> None:
    context = detect(env(tmp_path, {"pull_request": {"head": {"sha": HEAD}}}))
    assert context.payload == MERGE  # the payload stays the commit the runs tested
    assert context.metadata["head_sha"] == HEAD


def test_a_workflow_run_workflow_records_the_triggering_runs_head(tmp_path: Path) -> None:
    assert github_head_sha(env(tmp_path, {"workflow_run": {"head_sha": HEAD}})) == HEAD


def test_a_push_records_no_separate_head(tmp_path: Path) -> None:
    assert "head_sha" not in detect(env(tmp_path, {"head_commit": {"id": MERGE}})).metadata
    assert github_head_sha(env(tmp_path, {"pull_request": {"head": {"sha": MERGE}}})) is None
    assert github_head_sha(env(tmp_path, ["not", "an", "object"])) is None
    assert github_head_sha({"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}) is None
