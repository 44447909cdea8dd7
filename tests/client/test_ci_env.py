from __future__ import annotations

import argparse
import json

import pytest

from client.ci_env import NONE, detect
from client.cli_support import add_run_flags, resolve_run_fields
from client.errors import InputError

GITHUB = {
    "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/widgets", "GITHUB_WORKFLOW": "ci",
    "GITHUB_JOB": "e2e", "GITHUB_RUN_ID": "9876543210", "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_SHA": "a" * 40, "GITHUB_SERVER_URL": "https://github.example.com",
    "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_NAME": "push",
}
PROW_SPEC = {
    "type": "presubmit", "job": "pull-kubernetes-e2e-gce", "buildid": "1857412345678901248",
    "prowjobid": "5c1f-uuid",
    "refs": {"org": "kubernetes", "repo": "kubernetes", "base_ref": "master",
             "base_sha": "b" * 40, "pulls": [{"number": 123456, "sha": "c" * 40}]},
    "decoration_config": {"gcs_configuration": {
        "bucket": "gs://kubernetes-ci-logs", "path_strategy": "legacy",
        "default_org": "kubernetes", "default_repo": "kubernetes"}},
}
PROW = {
    "CI": "true", "PROW_JOB_ID": "5c1f-uuid", "JOB_NAME": "pull-kubernetes-e2e-gce",
    "JOB_TYPE": "presubmit", "BUILD_ID": "1857412345678901248",
    "BUILD_NUMBER": "1857412345678901248",
    "REPO_OWNER": "kubernetes", "REPO_NAME": "kubernetes", "PULL_NUMBER": "123456",
    "PULL_BASE_SHA": "b" * 40, "PULL_PULL_SHA": "c" * 40, "JOB_SPEC": json.dumps(PROW_SPEC),
}
GITLAB = {
    "GITLAB_CI": "true", "CI_PROJECT_PATH": "group/project", "CI_JOB_NAME": "rspec 2/3",
    "CI_JOB_ID": "4242", "CI_PIPELINE_ID": "777", "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3",
    "CI_COMMIT_SHA": "d" * 40, "CI_JOB_URL": "https://gitlab.example.com/group/project/-/jobs/4242",
    "CI_PIPELINE_URL": "https://gitlab.example.com/group/project/-/pipelines/777",
    "CI_COMMIT_REF_NAME": "main",
}
JENKINS = {
    "JENKINS_URL": "https://jenkins.example.com/", "JOB_NAME": "folder/e2e", "BUILD_NUMBER": "58",
    "BUILD_ID": "58", "BUILD_URL": "https://jenkins.example.com/job/folder/job/e2e/58/",
    "GIT_COMMIT": "e" * 40, "GIT_BRANCH": "origin/main", "BUILD_TAG": "jenkins-folder-e2e-58",
}
CIRCLE = {
    "CIRCLECI": "true", "CIRCLE_PROJECT_USERNAME": "acme", "CIRCLE_PROJECT_REPONAME": "widgets",
    "CIRCLE_JOB": "test", "CIRCLE_BUILD_NUM": "314", "CIRCLE_NODE_INDEX": "1",
    "CIRCLE_NODE_TOTAL": "4", "CIRCLE_SHA1": "f" * 40,
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/widgets/314", "CIRCLE_BRANCH": "main",
}


def test_github_actions() -> None:
    ctx = detect(GITHUB)
    assert ctx.system == "github-actions"
    assert ctx.job == "acme/widgets/ci/e2e"
    assert ctx.run_id == "9876543210-2"  # a re-run attempt is a new run
    assert ctx.payload == "a" * 40
    assert ctx.url == "https://github.example.com/acme/widgets/actions/runs/9876543210/attempts/2"
    assert ctx.metadata["ref"] == "refs/heads/main" and ctx.metadata["ci"] == "github-actions"


def test_prow_presubmit_with_gcs_link() -> None:
    ctx = detect(PROW)
    assert (ctx.system, ctx.job, ctx.run_id) == ("prow", "pull-kubernetes-e2e-gce",
                                                 "1857412345678901248")
    assert ctx.payload == "c" * 40  # the PR head, not the base
    assert ctx.url == ("gs://kubernetes-ci-logs/pr-logs/pull/123456/pull-kubernetes-e2e-gce/"
                       "1857412345678901248")
    assert ctx.metadata["pull"] == "123456" and ctx.metadata["job_type"] == "presubmit"


def test_prow_explicit_path_strategy_and_periodics() -> None:
    spec = json.loads(PROW["JOB_SPEC"])
    spec["decoration_config"]["gcs_configuration"]["path_strategy"] = "explicit"
    ctx = detect({**PROW, "JOB_SPEC": json.dumps(spec)})
    assert ctx.url is not None and "/pr-logs/pull/kubernetes_kubernetes/123456/" in ctx.url
    periodic = {key: value for key, value in PROW.items()
                if not key.startswith("PULL_") and key != "JOB_SPEC"}
    periodic.update(JOB_TYPE="periodic", JOB_NAME="ci-kubernetes-e2e", JOB_SPEC=json.dumps(
        {"type": "periodic", "decoration_config": spec["decoration_config"]}))
    ctx = detect(periodic)
    assert ctx.url == "gs://kubernetes-ci-logs/logs/ci-kubernetes-e2e/1857412345678901248"
    assert ctx.payload is None  # a periodic tests no particular commit: pass --payload


def test_prow_payload_falls_back_to_the_job_spec_refs() -> None:
    env = {key: value for key, value in PROW.items() if key not in ("PULL_PULL_SHA",
                                                                     "PULL_BASE_SHA")}
    assert detect(env).payload == "c" * 40
    assert detect({**env, "JOB_SPEC": "not json"}).payload is None


def test_gitlab_parallel_nodes_are_one_run_of_one_job() -> None:
    ctx = detect(GITLAB)
    assert ctx.system == "gitlab-ci"
    assert ctx.job == "group/project/rspec"
    assert ctx.run_id == "777"  # the pipeline: all nodes of `parallel: 3` share it
    assert ctx.url == GITLAB["CI_PIPELINE_URL"] and ctx.payload == "d" * 40
    single = detect({**GITLAB, "CI_JOB_NAME": "lint", "CI_NODE_TOTAL": "1"})
    assert (single.job, single.run_id, single.url) == ("group/project/lint", "4242",
                                                       GITLAB["CI_JOB_URL"])


def test_jenkins() -> None:
    ctx = detect(JENKINS)
    assert (ctx.system, ctx.job, ctx.run_id, ctx.payload, ctx.url) == (
        "jenkins", "folder/e2e", "58", "e" * 40, JENKINS["BUILD_URL"])


def test_circleci_parallel_containers_share_the_run() -> None:
    ctx = detect(CIRCLE)
    assert (ctx.system, ctx.job, ctx.run_id, ctx.payload, ctx.url) == (
        "circleci", "acme/widgets/test", "314", "f" * 40, CIRCLE["CIRCLE_BUILD_URL"])


def test_prow_is_not_mistaken_for_jenkins() -> None:
    # Prow sets BUILD_NUMBER and JOB_NAME too; with JENKINS_URL absent it is Prow.
    assert detect(PROW).system == "prow"
    assert detect({**JENKINS, "PROW_JOB_ID": "x"}).system == "prow"


def test_no_ci() -> None:
    assert detect({"HOME": "/root", "CI": "true"}) is NONE


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_run_flags(parser)
    return parser.parse_args(list(argv))


def test_flags_override_detection_and_metadata_merges() -> None:
    fields = resolve_run_fields(
        _args("--job", "mine", "--payload", "4.19.0-rc.1", "--metadata", "ci=custom",
              "--metadata", "shard=3", "--variant", "platform=aws"), GITHUB)
    assert fields.job == "mine" and fields.run_id == "9876543210-2"
    assert fields.payload == "4.19.0-rc.1"
    assert fields.metadata["ci"] == "custom" and fields.metadata["shard"] == "3"
    assert fields.metadata["repository"] == "acme/widgets"
    assert fields.variant == {"platform": "aws"}


def test_outside_ci_job_and_run_id_are_required() -> None:
    with pytest.raises(InputError, match="--job and --run-id"):
        resolve_run_fields(_args(), {})
    with pytest.raises(InputError, match="--run-id"):
        resolve_run_fields(_args("--job", "x"), {})
    fields = resolve_run_fields(_args("--job", "x", "--run-id", "1",
                                      "--started-at", "2026-11-20T10:00:00"), {})
    assert fields.started_at is not None and fields.started_at.utcoffset() is not None


@pytest.mark.parametrize("bad", [["--variant", "novalue"], ["--started-at", "yesterday"]])
def test_bad_run_flags_are_usage_errors(bad: list[str]) -> None:
    with pytest.raises(SystemExit):
        _args(*bad)
