"""What GitHub's events mean for flakegate: pure functions from webhook (or REST) objects to
runs, no I/O.

A completed job of a workflow run becomes a flakegate run named as the action names its own
uploads (:mod:`client.ci_env`), so that a repository sending webhooks AND uploading with the
action gets one run per job, not two:

* job = ``<owner>/<repo>/<workflow name>/<job name>``, where a matrix leg's name ``"test
  (3.12, ubuntu)"`` is its job's ``"test"``: the action records the legs of a matrix job as one
  run (they share ``GITHUB_RUN_ID`` and ``GITHUB_JOB``). The action takes the job's id (the key
  under ``jobs:``), GitHub's events carry its display name: they agree unless the workflow gives
  the job a ``name:`` different from its key.
* run id = ``<run_id>-<run_attempt>``; payload = the head SHA; URL = the workflow run attempt's
  page (the action's); metadata ``ci=github-actions``, ``repository``, ``commit``,
  ``run_attempt`` (the action's keys) plus ``workflow_run_id`` and ``github_job_id``. A run the
  action uploaded first keeps its payload (in a ``pull_request`` workflow the merge commit,
  ``GITHUB_SHA``) and its metadata; the head SHA is then its ``head_sha``, where publications
  go.
* status from the conclusion: success/neutral -> success, failure/timed_out -> failure,
  cancelled/stale -> aborted, action_required/startup_failure -> error; a skipped job did not
  run and records nothing. Legs of one matrix job fold into one run: the worst status wins
  (failure > error > aborted > pending > success), times span every leg.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.domain import Run, RunSpec, RunStatus

GITHUB_URL = "https://github.com"
CI = "github-actions"

_STATUS = {
    "success": RunStatus.SUCCESS, "neutral": RunStatus.SUCCESS,
    "failure": RunStatus.FAILURE, "timed_out": RunStatus.FAILURE,
    "cancelled": RunStatus.ABORTED, "stale": RunStatus.ABORTED,
    "action_required": RunStatus.ERROR, "startup_failure": RunStatus.ERROR,
}
_SEVERITY = {RunStatus.SUCCESS: 0, RunStatus.PENDING: 1, RunStatus.ABORTED: 2,
             RunStatus.ERROR: 3, RunStatus.FAILURE: 4}
_MATRIX_LEG = re.compile(r"^(.*\S) \(.+\)$", re.S)
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class BadEvent(ValueError):
    """An event without what flakegate needs from it: retrying cannot help."""


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadEvent(f"the event has no {key!r}")
    return value


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadEvent(f"the event has no {key!r}")
    return value


def _time(obj: Mapping[str, Any], key: str) -> datetime | None:
    value = obj.get(key)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def repository_of(payload: Mapping[str, Any]) -> str:
    repo = payload.get("repository")
    if not isinstance(repo, Mapping):
        raise BadEvent("the event names no repository")
    name = _text(repo, "full_name")
    if name.count("/") != 1:
        raise BadEvent(f"not a repository name: {name!r}")
    return name


def head_sha(obj: Mapping[str, Any]) -> str:
    sha = _text(obj, "head_sha")
    if not _SHA.match(sha):
        raise BadEvent(f"not a commit SHA: {sha!r}")
    return sha


@dataclass(frozen=True, slots=True)
class CompletedJob:
    """A completed job of a workflow run (a ``workflow_job`` event's or the jobs API's)."""

    repository: str
    job_id: int
    run_id: int
    run_attempt: int
    workflow: str
    name: str  # the display name, a matrix leg's "(...)" included
    head_sha: str
    conclusion: str
    started_at: datetime | None
    completed_at: datetime | None
    server: str = GITHUB_URL  # where people see the repository (GitHub Enterprise: its host)

    @property
    def job(self) -> str:
        match = _MATRIX_LEG.match(self.name)
        base = match.group(1) if match else self.name
        return f"{self.repository}/{self.workflow}/{base}"

    @property
    def flakegate_run_id(self) -> str:
        return f"{self.run_id}-{self.run_attempt}"

    @property
    def status(self) -> RunStatus | None:
        """The run's status; None for a job that did not run (skipped) or is unknown."""
        return _STATUS.get(self.conclusion)


def completed_job(repository: str, obj: Mapping[str, Any],
                  workflow: str | None = None) -> CompletedJob:
    """A :class:`CompletedJob` from a ``workflow_job`` object; ``workflow`` when the object
    does not carry ``workflow_name`` (older Enterprise servers)."""
    name = obj.get("workflow_name") or workflow
    if not isinstance(name, str) or not name.strip():
        raise BadEvent("the job names no workflow")
    attempt = obj.get("run_attempt", 1)
    return CompletedJob(
        repository=repository, job_id=_int(obj, "id"), run_id=_int(obj, "run_id"),
        run_attempt=attempt if isinstance(attempt, int) and attempt > 0 else 1,
        workflow=name, name=_text(obj, "name"), head_sha=head_sha(obj),
        conclusion=str(obj.get("conclusion") or ""),
        started_at=_time(obj, "started_at"), completed_at=_time(obj, "completed_at"),
        server=_server(repository, obj.get("html_url")))


def _server(repository: str, html_url: object) -> str:
    """The web host of a job's page (``https://github.com`` or an Enterprise server's)."""
    if isinstance(html_url, str) and html_url.startswith(("https://", "http://")):
        head, found, _ = html_url.partition(f"/{repository}/")
        if found and head.count("/") == 2:  # scheme://host, nothing more
            return head
    return GITHUB_URL


def run_spec(job: CompletedJob, existing: Run | None) -> RunSpec | None:
    """The run to put for ``job``, folded into ``existing`` (another leg, or the action's
    upload); None when the job records nothing (skipped)."""
    status = job.status
    if status is None:
        return None
    metadata = {"ci": CI, "repository": job.repository, "commit": job.head_sha,
                "run_attempt": str(job.run_attempt), "workflow_run_id": str(job.run_id),
                "github_job_id": str(job.job_id)}
    url = f"{job.server}/{job.repository}/actions/runs/{job.run_id}/attempts/{job.run_attempt}"
    started, finished = job.started_at, job.completed_at
    payload = job.head_sha
    if existing is not None:
        old = existing.spec
        if _SEVERITY[old.status] > _SEVERITY[status]:
            status = old.status
        # The action's payload stays: in a pull_request workflow it is the merge commit
        # (GITHUB_SHA), and the head SHA is where publications go (metadata head_sha).
        payload = old.payload or payload
        if payload != job.head_sha:
            metadata["head_sha"] = job.head_sha
        metadata = {**metadata, **old.metadata}  # what the action recorded stays
        url = old.url or url
        started = min((t for t in (old.started_at, started) if t is not None), default=None)
        finished = max((t for t in (old.finished_at, finished) if t is not None),
                       default=None)
    return RunSpec(job=job.job, run_id=job.flakegate_run_id, status=status,
                   payload=payload, started_at=started, finished_at=finished, url=url,
                   variant=existing.spec.variant if existing else {}, metadata=metadata)


def github_repository(run: Run) -> str | None:
    """The repository a run's verdict is published to: runs of GitHub Actions (a webhook's,
    or the action's upload) that name one."""
    meta = run.spec.metadata
    repo = meta.get("repository")
    if meta.get("ci") != CI or not repo or run.spec.payload is None:
        return None
    return repo
