"""What GitHub's job objects become: names that agree with the action's uploads, statuses,
matrix legs folded into one run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.domain import Run, RunCounts, RunSpec, RunStatus
from api.hooks.events import BadEvent, completed_job, github_repository, run_spec
from client.ci_env import detect

SHA = "b" * 40


def job_obj(**over: Any) -> dict[str, Any]:
    base = {"id": 9, "run_id": 123, "run_attempt": 2, "name": "unit", "workflow_name": "CI",
            "head_sha": SHA, "conclusion": "failure", "started_at": "2026-12-01T10:00:00Z",
            "completed_at": "2026-12-01T10:05:00Z",
            "html_url": "https://github.com/octo/repo/actions/runs/123/job/9"}
    return {**base, **over}


def stored(spec: RunSpec) -> Run:
    now = datetime.now(UTC)
    return Run(spec=spec, counts=RunCounts(), files=(), created_at=now, updated_at=now)


def test_the_run_is_named_as_the_action_names_its_upload() -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo/repo", "GITHUB_WORKFLOW": "CI",
           "GITHUB_JOB": "unit", "GITHUB_RUN_ID": "123", "GITHUB_RUN_ATTEMPT": "2",
           "GITHUB_SHA": SHA}
    action = detect(env)
    spec = run_spec(completed_job("octo/repo", job_obj()), None)
    assert spec is not None
    assert (spec.job, spec.run_id, spec.payload, spec.url) == (
        action.job, action.run_id, action.payload, action.url)
    for key in ("ci", "repository", "commit", "run_attempt"):
        assert spec.metadata[key] == action.metadata[key]
    assert spec.metadata["workflow_run_id"] == "123" and spec.metadata["github_job_id"] == "9"
    assert spec.started_at == datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(("conclusion", "status"), [
    ("success", RunStatus.SUCCESS), ("neutral", RunStatus.SUCCESS),
    ("failure", RunStatus.FAILURE), ("timed_out", RunStatus.FAILURE),
    ("cancelled", RunStatus.ABORTED), ("startup_failure", RunStatus.ERROR),
    ("skipped", None), ("", None)])
def test_status_from_the_conclusion(conclusion: str, status: RunStatus | None) -> None:
    spec = run_spec(completed_job("octo/repo", job_obj(conclusion=conclusion)), None)
    assert (spec.status if spec else None) == status


def test_matrix_legs_fold_into_one_run_worst_status_and_widest_times() -> None:
    leg1 = completed_job("octo/repo", job_obj(name="unit (3.11, ubuntu)", conclusion="failure"))
    leg2 = completed_job("octo/repo", job_obj(
        name="unit (3.12, ubuntu)", id=10, conclusion="success",
        started_at="2026-12-01T09:00:00Z", completed_at="2026-12-01T11:00:00Z"))
    assert leg1.job == leg2.job == "octo/repo/CI/unit"
    first = run_spec(leg1, None)
    assert first is not None
    folded = run_spec(leg2, stored(first))
    assert folded is not None and folded.status is RunStatus.FAILURE
    assert folded.started_at == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert folded.finished_at == datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert folded.metadata["github_job_id"] == "9"  # the first leg's, kept


def test_what_the_action_recorded_is_kept() -> None:
    action = RunSpec(job="octo/repo/CI/unit", run_id="123-2", status=RunStatus.SUCCESS,
                     payload=SHA, url="https://x/run", variant={"os": "linux"},
                     metadata={"ci": "github-actions", "ref": "refs/pull/1/merge",
                               "repository": "octo/repo"})
    spec = run_spec(completed_job("octo/repo", job_obj()), stored(action))
    assert spec is not None and spec.status is RunStatus.FAILURE
    assert spec.url == "https://x/run" and spec.variant == {"os": "linux"}
    assert spec.metadata["ref"] == "refs/pull/1/merge"
    assert github_repository(stored(spec)) == "octo/repo"


def test_enterprise_urls_keep_their_host() -> None:
    job = completed_job("octo/repo", job_obj(
        html_url="https://ghe.example/octo/repo/actions/runs/123/job/9"))
    spec = run_spec(job, None)
    assert spec is not None and spec.url == "https://ghe.example/octo/repo/actions/runs/123/attempts/2"


@pytest.mark.parametrize("bad", [{"head_sha": "nope"}, {"id": "x"}, {"name": ""},
                                 {"workflow_name": None}])
def test_unusable_jobs_are_bad_events(bad: dict[str, Any]) -> None:
    with pytest.raises(BadEvent):
        completed_job("octo/repo", job_obj(**bad))


def test_only_github_runs_with_a_payload_are_published() -> None:
    spec = RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS, payload=SHA,
                   metadata={"ci": "prow", "repository": "octo/repo"})
    assert github_repository(stored(spec)) is None
    no_payload = RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS,
                         metadata={"ci": "github-actions", "repository": "octo/repo"})
    assert github_repository(stored(no_payload)) is None


def test_a_pull_request_run_the_action_uploaded_keeps_its_merge_commit_payload() -> None:
    merge = "e" * 40
    action = RunSpec(job="octo/repo/CI/unit", run_id="123-2", status=RunStatus.SUCCESS,
                     payload=merge, metadata={"ci": "github-actions", "repository": "octo/repo",
                                              "commit": merge})
    spec = run_spec(completed_job("octo/repo", job_obj()), stored(action))
    assert spec is not None and spec.payload == merge
    assert spec.metadata["head_sha"] == SHA and spec.metadata["commit"] == merge
