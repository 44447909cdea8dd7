"""What the CI system a command runs in says about the run, from its standard variables.

The defaults follow one rule: **the parallel pieces of one CI job form one flakegate run**
(GitHub matrix legs of a job share ``GITHUB_RUN_ID``, CircleCI parallel containers share
``CIRCLE_BUILD_NUM``, GitLab ``parallel:`` nodes share the pipeline), because a sharded suite
split across machines is one execution of the suite. Repeated runs of a whole job get distinct
run ids from the CI system on their own (a new workflow run, a new Prow build, a retry). To
record matrix legs as separate repeated runs, give ``--run-id`` with the leg's index.

The payload defaults to the commit under test, the same value in every job of a pipeline, so
that the parallel jobs of one commit meet in one verdict. Flags always override.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CiContext:
    system: str  # github-actions | prow | gitlab-ci | jenkins | circleci | none
    job: str | None = None
    run_id: str | None = None
    payload: str | None = None
    url: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


NONE = CiContext(system="none")


def _clean(values: Mapping[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def github_event(env: Mapping[str, str]) -> dict[str, Any]:
    """The workflow's event payload (the JSON file at ``GITHUB_EVENT_PATH``), or {}."""
    path = env.get("GITHUB_EVENT_PATH")
    try:
        with open(path or "", encoding="utf-8") as event_file:
            event = json.load(event_file)
    except (OSError, ValueError):
        return {}
    return event if isinstance(event, dict) else {}


def github_head_sha(env: Mapping[str, str]) -> str | None:
    """The commit people see, when it is not ``GITHUB_SHA``: a ``pull_request`` workflow runs
    on a merge commit (the pull request's head is shown), a ``workflow_run`` workflow on the
    default branch (the triggering run's head is what it reports on)."""
    event = github_event(env)
    pull = event.get("pull_request")
    run = event.get("workflow_run")
    head = ((pull.get("head") or {}).get("sha") if isinstance(pull, dict) else None) or \
        (run.get("head_sha") if isinstance(run, dict) else None)
    return head if isinstance(head, str) and head != env.get("GITHUB_SHA") else None


def _github(env: Mapping[str, str]) -> CiContext:
    repo, run_id = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
    attempt = env.get("GITHUB_RUN_ATTEMPT") or "1"
    job_parts = [part for part in (repo, env.get("GITHUB_WORKFLOW"), env.get("GITHUB_JOB"))
                 if part]
    server = env.get("GITHUB_SERVER_URL") or "https://github.com"
    url = f"{server}/{repo}/actions/runs/{run_id}/attempts/{attempt}" if repo and run_id else None
    return CiContext(
        system="github-actions", job="/".join(job_parts) or None,
        # A re-run of failed jobs keeps GITHUB_RUN_ID: the attempt makes it a new run.
        run_id=f"{run_id}-{attempt}" if run_id else None,
        payload=env.get("GITHUB_SHA") or None, url=url,
        metadata=_clean({"ci": "github-actions", "repository": repo,
                         "commit": env.get("GITHUB_SHA"), "ref": env.get("GITHUB_REF"),
                         "event": env.get("GITHUB_EVENT_NAME"), "run_attempt": attempt,
                         # where flakegate's GitHub publications go (docs/github.md)
                         "head_sha": github_head_sha(env)}),
    )


def _prow_spec(env: Mapping[str, str]) -> dict[str, object]:
    try:
        spec = json.loads(env.get("JOB_SPEC") or "{}")
    except ValueError:
        return {}
    return spec if isinstance(spec, dict) else {}


def _prow_pr_dir(org: str, repo: str, gcs: Mapping[str, object]) -> str:
    # Prow's path strategies: "explicit" always writes org_repo; "legacy" and "single" drop
    # the parts that equal the configured defaults.
    if gcs.get("path_strategy") == "explicit" or org != gcs.get("default_org"):
        return f"{org}_{repo}"
    return "" if repo == gcs.get("default_repo") else repo


def _prow_url(env: Mapping[str, str], spec: Mapping[str, object]) -> str | None:
    decoration = spec.get("decoration_config")
    gcs = decoration.get("gcs_configuration") if isinstance(decoration, dict) else None
    if not isinstance(gcs, dict) or not gcs.get("bucket"):
        return None
    bucket = str(gcs["bucket"]).removeprefix("gs://").rstrip("/")
    job, build = env.get("JOB_NAME", ""), env.get("BUILD_ID", "")
    pull = env.get("PULL_NUMBER")
    if env.get("JOB_TYPE") == "presubmit" and pull:
        pr_dir = _prow_pr_dir(env.get("REPO_OWNER", ""), env.get("REPO_NAME", ""), gcs)
        prefix = "/".join(part for part in ("pr-logs/pull", pr_dir, pull) if part)
        return f"gs://{bucket}/{prefix}/{job}/{build}"
    return f"gs://{bucket}/logs/{job}/{build}"


def _prow(env: Mapping[str, str]) -> CiContext:
    spec = _prow_spec(env)
    raw_refs = spec.get("refs")
    refs: dict[str, Any] = raw_refs if isinstance(raw_refs, dict) else {}
    pulls = refs.get("pulls") or []
    pull_sha = env.get("PULL_PULL_SHA") or (pulls[0].get("sha") if pulls and
                                            isinstance(pulls[0], dict) else None)
    base_sha = env.get("PULL_BASE_SHA") or refs.get("base_sha")
    return CiContext(
        system="prow", job=env.get("JOB_NAME") or None,
        run_id=env.get("BUILD_ID") or env.get("PROW_JOB_ID") or None,
        payload=pull_sha or base_sha or None, url=_prow_url(env, spec),
        metadata=_clean({"ci": "prow", "job_type": env.get("JOB_TYPE"),
                         "prow_job_id": env.get("PROW_JOB_ID"),
                         "repo": "/".join(p for p in (env.get("REPO_OWNER"),
                                                      env.get("REPO_NAME")) if p),
                         "pull": env.get("PULL_NUMBER"), "base_sha": base_sha,
                         "pull_sha": pull_sha}),
    )


_GITLAB_NODE_SUFFIX = re.compile(r"\s+\d+/\d+$")


def _gitlab(env: Mapping[str, str]) -> CiContext:
    # `parallel: N` names the nodes "rspec 1/3", "rspec 2/3"...: one job, one run per pipeline.
    name = _GITLAB_NODE_SUFFIX.sub("", env.get("CI_JOB_NAME", ""))
    parallel = int(env.get("CI_NODE_TOTAL") or "1") > 1
    project = env.get("CI_PROJECT_PATH", "")
    run_id = env.get("CI_PIPELINE_ID") if parallel else env.get("CI_JOB_ID")
    return CiContext(
        system="gitlab-ci", job="/".join(p for p in (project, name) if p) or None,
        run_id=run_id or None, payload=env.get("CI_COMMIT_SHA") or None,
        url=(env.get("CI_PIPELINE_URL") if parallel else env.get("CI_JOB_URL")) or None,
        metadata=_clean({"ci": "gitlab-ci", "project": project,
                         "commit": env.get("CI_COMMIT_SHA"), "ref": env.get("CI_COMMIT_REF_NAME"),
                         "pipeline_id": env.get("CI_PIPELINE_ID"), "job_id": env.get("CI_JOB_ID"),
                         "merge_request": env.get("CI_MERGE_REQUEST_IID")}),
    )


def _jenkins(env: Mapping[str, str]) -> CiContext:
    return CiContext(
        system="jenkins", job=env.get("JOB_NAME") or None,
        run_id=env.get("BUILD_NUMBER") or env.get("BUILD_ID") or None,
        payload=env.get("GIT_COMMIT") or None, url=env.get("BUILD_URL") or None,
        metadata=_clean({"ci": "jenkins", "commit": env.get("GIT_COMMIT"),
                         "branch": env.get("GIT_BRANCH") or env.get("BRANCH_NAME"),
                         "build_tag": env.get("BUILD_TAG")}),
    )


def _circleci(env: Mapping[str, str]) -> CiContext:
    project = "/".join(p for p in (env.get("CIRCLE_PROJECT_USERNAME"),
                                   env.get("CIRCLE_PROJECT_REPONAME")) if p)
    job = "/".join(p for p in (project, env.get("CIRCLE_JOB")) if p)
    return CiContext(
        system="circleci", job=job or None, run_id=env.get("CIRCLE_BUILD_NUM") or None,
        payload=env.get("CIRCLE_SHA1") or None, url=env.get("CIRCLE_BUILD_URL") or None,
        metadata=_clean({"ci": "circleci", "commit": env.get("CIRCLE_SHA1"),
                         "branch": env.get("CIRCLE_BRANCH"),
                         "workflow_id": env.get("CIRCLE_WORKFLOW_ID"),
                         "pull_request": env.get("CIRCLE_PULL_REQUEST")}),
    )


# Order matters: Prow also sets BUILD_NUMBER and JOB_NAME, which Jenkins is recognised by.
_DETECTORS: tuple[tuple[Callable[[Mapping[str, str]], bool],
                        Callable[[Mapping[str, str]], CiContext]], ...] = (
    (lambda env: env.get("GITHUB_ACTIONS") == "true", _github),
    (lambda env: env.get("GITLAB_CI") == "true", _gitlab),
    (lambda env: env.get("CIRCLECI") == "true", _circleci),
    (lambda env: bool(env.get("PROW_JOB_ID")), _prow),
    (lambda env: bool(env.get("JENKINS_URL") and env.get("BUILD_NUMBER")), _jenkins),
)


def detect(environ: Mapping[str, str]) -> CiContext:
    for applies, read in _DETECTORS:
        if applies(environ):
            return read(environ)
    return NONE
