"""Working off a queued GitHub delivery (in a server worker's work schedule, never in the
request that received it).

* ``workflow_job`` completed: the job's run (named by :mod:`api.hooks.events`); for a job that
  failed, its log from the Actions API stored as the run's log under the step of the job's
  display name (so the failure-log scanner classifies it, as for an uploaded log).
* ``workflow_run`` completed: every completed job of that attempt (a job whose own event was
  lost or not sent is recorded here too), then the run's artifacts: each zip is downloaded
  (bounded), its JUnit and measurement files are attached to the run of the job the artifact
  is named after (the artifact name equal to the job's display name, or to its name without
  the matrix suffix; a workflow of one job takes every artifact); other artifacts are skipped.
* ``pull_request`` opened/reopened/synchronize: a payload already judged for the head SHA is
  published again (the new pull request gets its comment).

Each records what it did as one summary line. A handler that meets an event it cannot use
raises :class:`~api.hooks.events.BadEvent` (the item is dead at once); anything else
(GitHub unreachable, rate-limited, the store unavailable) is retried by the schedule.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from api.disruption.artifacts import ArtifactParseError
from api.github.client import GitHubClient
from api.github.errors import GitHubError, GitHubTooLarge
from api.hooks.artifacts import ArtifactTooLarge, known_files
from api.hooks.events import BadEvent, CompletedJob, completed_job, head_sha, repository_of
from api.hooks.events import run_spec as job_run_spec
from api.hooks.publish_trigger import request_publish
from api.junit import JunitParseError
from api.services import artifacts_upload, logs
from api.services.errors import InvalidUpload
from api.services.junit_upload import Limits
from api.store import Store


@dataclass
class WorkContext:
    """What handlers share: the configuration and GitHub (None when not configured)."""

    config: Mapping[str, Any]
    github: GitHubClient | None

    @property
    def download_max(self) -> int:
        return int(self.config["GITHUB_DOWNLOAD_MAX_BYTES"])

    def limits(self, parts: int) -> Limits:
        return Limits(int(self.config["MAX_DECOMPRESSED_BYTES"]),
                      int(self.config["MAX_TESTCASES"]), max(parts, 1))


def _gone(exc: Exception) -> bool:
    """GitHub no longer has it (logs and artifacts expire), or it is beyond the download
    bound: nothing another attempt would change."""
    return isinstance(exc, GitHubTooLarge) or (isinstance(exc, GitHubError)
                                                and exc.status in (404, 410))


def record_job(store: Store, ctx: WorkContext, job: CompletedJob,
               payloads: set[str]) -> list[str]:
    """Put ``job``'s run and, when it failed and has no log yet, its log; what was done. The
    run's payload (the head SHA, or the action's) is added to ``payloads``."""
    existing = store.get_run(job.job, job.flakegate_run_id)
    spec = job_run_spec(job, existing)
    if spec is None:
        return [f"{job.name}: {job.conclusion or 'no conclusion'}, nothing recorded"]
    store.put_run(spec, None)
    payloads.add(spec.payload or job.head_sha)
    done = [f"run {spec.job} {spec.run_id} {spec.status.value}"]
    if job.status is not None and job.status.value == "failure" and ctx.github is not None:
        steps = {info.step for info in store.logs.list_logs(spec.job, spec.run_id)}
        if job.name not in steps:
            done.append(_fetch_log(store, ctx, job))
    return done


def _fetch_log(store: Store, ctx: WorkContext, job: CompletedJob) -> str:
    assert ctx.github is not None
    try:
        text = ctx.github.download_job_log(job.repository, job.job_id, ctx.download_max)
    except Exception as exc:
        if _gone(exc):
            return f"no log for job {job.job_id}: {exc}"
        raise
    info, _ = logs.put_log(store, job.job, job.flakegate_run_id, job.name, text,
                           limits=ctx.limits(1),
                           max_log_bytes=int(ctx.config["MAX_LOG_BYTES"]),
                           source=f"github job {job.job_id}")
    return f"log of {job.name}: {info.size} bytes"


def on_workflow_job(store: Store, ctx: WorkContext, payload: Mapping[str, Any]) -> list[str]:
    if payload.get("action") != "completed":
        return [f"workflow_job {payload.get('action')!r}: not a completed job"]
    obj = payload.get("workflow_job")
    if not isinstance(obj, Mapping):
        raise BadEvent("the event has no workflow_job")
    job = completed_job(repository_of(payload), obj)
    payloads: set[str] = set()
    done = record_job(store, ctx, job, payloads)
    return done + _publish(store, ctx, payloads)


def _publish(store: Store, ctx: WorkContext, payloads: set[str]) -> list[str]:
    return [f"publication of {payload} queued" for payload in sorted(payloads)
            if request_publish(store, ctx.config, payload)]


def on_workflow_run(store: Store, ctx: WorkContext, payload: Mapping[str, Any]) -> list[str]:
    if payload.get("action") != "completed":
        return [f"workflow_run {payload.get('action')!r}: not a completed run"]
    repository = repository_of(payload)
    run = payload.get("workflow_run")
    if not isinstance(run, Mapping) or not isinstance(run.get("id"), int):
        raise BadEvent("the event has no workflow_run id")
    head_sha(run)  # a run without a commit is no run of ours
    if ctx.github is None:
        return ["GitHub is not configured (no token or App): jobs and artifacts not fetched"]
    attempt = run.get("run_attempt") if isinstance(run.get("run_attempt"), int) else 1
    done: list[str] = []
    jobs = []
    payloads: set[str] = set()
    for obj in ctx.github.list_workflow_jobs(repository, run["id"], filter="all"):
        if obj.get("status") != "completed" or obj.get("run_attempt", 1) != attempt:
            continue
        job = completed_job(repository, obj, workflow=str(run.get("name") or ""))
        done += record_job(store, ctx, job, payloads)
        if job.status is not None:
            jobs.append(job)
    done += _attach_artifacts(store, ctx, repository, int(run["id"]), jobs)
    return done + _publish(store, ctx, payloads)


def _target(name: str, jobs: list[CompletedJob]) -> CompletedJob | None:
    """The job an artifact belongs to (see the module docstring)."""
    for job in jobs:
        if name in (job.name, job.job.rsplit("/", 1)[-1]):
            return job
    return jobs[0] if len({job.job for job in jobs}) == 1 else None


def _attach_artifacts(store: Store, ctx: WorkContext, repository: str, run_id: int,
                      jobs: list[CompletedJob]) -> list[str]:
    assert ctx.github is not None
    done = []
    for artifact in ctx.github.list_artifacts(repository, run_id):
        name = str(artifact.get("name", ""))
        job = _target(name, jobs)
        if artifact.get("expired") or job is None:
            done.append(f"artifact {name!r}: {'expired' if job else 'no job of that name'}")
            continue
        try:
            data = ctx.github.download_artifact(repository, artifact, ctx.download_max)
            files = known_files(name, data, max_bytes=int(ctx.config["MAX_DECOMPRESSED_BYTES"]))
            if not files:
                done.append(f"artifact {name!r}: no JUnit or measurement files")
                continue
            report = artifacts_upload.attach_artifacts(
                store, job.job, job.flakegate_run_id, files, limits=ctx.limits(len(files)))
        except Exception as exc:
            # What GitHub no longer has, or a file that is not what its name says, is not
            # worth another attempt; anything else (network, store) is.
            if not (_gone(exc) or isinstance(exc, (ArtifactTooLarge, zipfile.BadZipFile,
                                                   JunitParseError, ArtifactParseError,
                                                   InvalidUpload))):
                raise
            done.append(f"artifact {name!r} skipped: {exc}")
            continue
        added = sum(r.added for r in report.junit) + sum(r.added for r in report.measurements)
        done.append(f"artifact {name!r} -> {job.job} {job.flakegate_run_id}: {added} files")
    return done


def on_pull_request(store: Store, ctx: WorkContext, payload: Mapping[str, Any]) -> list[str]:
    pull = payload.get("pull_request")
    if not isinstance(pull, Mapping) or not isinstance(pull.get("head"), Mapping):
        raise BadEvent("the event has no pull_request head")
    sha = str(pull["head"].get("sha", ""))
    if not store.payload_runs(sha):
        return [f"no runs of {sha[:12]} yet: nothing to publish"]
    if request_publish(store, ctx.config, sha):
        return [f"publication of {sha} queued for pull request {pull.get('number')}"]
    return ["GitHub is not configured: nothing published"]


HANDLERS: dict[str, Callable[[Store, WorkContext, Mapping[str, Any]], list[str]]] = {
    "workflow_job": on_workflow_job,
    "workflow_run": on_workflow_run,
    "pull_request": on_pull_request,
}
"""The events worked off the queue; the route queues only these (and answers ``ping``)."""

PULL_REQUEST_ACTIONS = frozenset({"opened", "reopened", "synchronize"})


def handle_delivery(store: Store, ctx: WorkContext, body: str) -> str:
    """Work off one queued delivery (as the route stored it); returns its summary."""
    try:
        stored = json.loads(body)
        event, payload = stored["event"], stored["payload"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise BadEvent("a queued delivery that is not what the route stores") from None
    handler = HANDLERS.get(event)
    if handler is None or not isinstance(payload, Mapping):
        raise BadEvent(f"no handler for event {event!r}")
    return "; ".join(handler(store, ctx, payload))
