"""The GitHub double's state and its answer to each operation (tests/github_double.py serves
them). Answers start from GitHub's own examples in the REST description and change only what
the state decides, so they stay valid against the description (the double checks each one)."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.github_contract import example


def now_iso(offset: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + offset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # GitHub answers some statuses its description does not list (403 to editing another's
    # comment); the double checks such an answer's body against GitHub's error shape only.
    undocumented: bool = False


@dataclass
class DoubleState:
    api_url: str = ""
    storage_url: str = ""
    token_lifetime: float = 3600.0
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    check_run_repo: dict[int, str] = field(default_factory=dict)
    annotations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    comment_where: dict[int, tuple[str, int]] = field(default_factory=dict)
    pulls: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    pull_heads: dict[tuple[str, int], str] = field(default_factory=dict)  # pushed since
    workflow_runs: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    jobs: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    installations: dict[str, int] = field(default_factory=dict)
    installation_tokens: dict[str, float] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # -- who writes (review fix K): the author of a comment is the request's caller --
    token_login: str = "github-actions[bot]"  # the configured token's user (the Actions one)
    app_slug: str = "flakegate-test"
    _caller: threading.local = field(default_factory=threading.local)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    def next_id(self) -> int:
        return next(self._ids)

    # -- seeding ------------------------------------------------------------------------------

    def add_pull(self, repository: str, sha: str, number: int) -> None:
        with self.lock:
            self.pulls.setdefault((repository, sha), []).append(number)

    def install(self, repository: str, installation_id: int) -> None:
        with self.lock:
            self.installations[repository] = installation_id

    def add_workflow_run(self, repository: str, run_id: int, *, head_sha: str,
                         name: str = "CI", run_attempt: int = 1,
                         conclusion: str | None = "success") -> dict[str, Any]:
        run = example("workflow-run")
        run.update(id=run_id, name=name, head_sha=head_sha, run_attempt=run_attempt,
                   status="completed", conclusion=conclusion,
                   url=f"{self.api_url}/repos/{repository}/actions/runs/{run_id}",
                   html_url=f"https://github.com/{repository}/actions/runs/{run_id}")
        with self.lock:
            self.workflow_runs[(repository, run_id)] = run
        return run

    def add_job(self, repository: str, run_id: int, job_id: int, *, name: str,
                head_sha: str, conclusion: str = "success", log: bytes | None = None,
                workflow_name: str = "CI", run_attempt: int = 1) -> dict[str, Any]:
        job = example("job-paginated")["jobs"][0]
        job.update(id=job_id, run_id=run_id, name=name, head_sha=head_sha,
                   status="completed", conclusion=conclusion, workflow_name=workflow_name,
                   run_attempt=run_attempt, created_at=now_iso(),
                   url=f"{self.api_url}/repos/{repository}/actions/jobs/{job_id}",
                   html_url=f"https://github.com/{repository}/actions/runs/{run_id}/job/{job_id}")
        with self.lock:
            self.jobs.setdefault((repository, run_id), []).append(job)
            if log is not None:
                self.blobs[f"logs/{job_id}"] = log
        return job

    def add_artifact(self, repository: str, run_id: int, name: str,
                     archive: bytes) -> dict[str, Any]:
        artifact = example("artifact-paginated")["artifacts"][0]
        artifact_id = self.next_id()
        artifact.update(
            id=artifact_id, name=name, size_in_bytes=len(archive),
            url=f"{self.api_url}/repos/{repository}/actions/artifacts/{artifact_id}",
            archive_download_url=(f"{self.api_url}/repos/{repository}/actions/artifacts/"
                                  f"{artifact_id}/zip"))
        artifact["workflow_run"]["id"] = run_id
        with self.lock:
            self.artifacts.setdefault((repository, run_id), []).append(artifact)
            self.blobs[f"artifacts/{artifact_id}"] = archive
        return artifact

    def set_caller(self, login: str, app_id: int | None) -> None:
        """Who makes the request being handled on this thread (the double's auth decides)."""
        self._caller.who = (login, app_id)

    def caller(self) -> tuple[str, int | None]:
        return getattr(self._caller, "who", (self.token_login, None))

    def plant_comment(self, repository: str, number: int, body: str, *,
                      login: str = "mallory", app_id: int | None = None) -> dict[str, Any]:
        """A comment written by someone else than flakegate (another user, or App)."""
        with self.lock:
            comment_id = self.next_id()
            comment = _comment(self, repository, number, comment_id, body, (login, app_id))
            self.comments[comment_id] = comment
            self.comment_where[comment_id] = (repository, number)
        return comment

    # -- reading what flakegate published -----------------------------------------------------

    def latest_status(self, repository: str, sha: str, context: str) -> dict[str, Any] | None:
        with self.lock:
            found = [s for s in self.statuses.get((repository, sha), [])
                     if s["context"] == context]
        return found[-1] if found else None

    def comments_on(self, repository: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return [self.comments[i] for i, where in self.comment_where.items()
                    if where == (repository, number)]


Params = dict[str, str]
Query = dict[str, list[str]]
Handler = Callable[[DoubleState, Params, Query, Any], Answer]
HANDLERS: dict[str, Handler] = {}


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[operation_id] = handler
        return handler
    return register


def _repo(params: Params) -> str:
    return f"{params['owner']}/{params['repo']}"


def _page(items: list[Any], query: Query) -> list[Any]:
    per_page = int(query.get("per_page", ["30"])[0])
    page = int(query.get("page", ["1"])[0])
    return items[(page - 1) * per_page: page * per_page]


@handles("repos/create-commit-status")
def _create_status(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    status = example("status")
    repo = _repo(params)
    status.update(id=state.next_id(), state=body["state"], context=body.get("context",
                  "default"), description=body.get("description"),
                  target_url=body.get("target_url"), created_at=now_iso(),
                  updated_at=now_iso(),
                  url=f"{state.api_url}/repos/{repo}/statuses/{params['sha']}")
    with state.lock:
        state.statuses.setdefault((repo, params["sha"]), []).append(status)
    return Answer(201, status)


def _apply_check_run(state: DoubleState, run: dict[str, Any], body: Any) -> None:
    for key in ("name", "head_sha", "details_url", "external_id", "status", "conclusion",
                "started_at", "completed_at"):
        if key in body:
            run[key] = body[key]
    if body.get("conclusion"):
        run["status"] = "completed"
        run["completed_at"] = body.get("completed_at") or now_iso()
    output = body.get("output")
    if output is not None:
        annotations = state.annotations.setdefault(run["id"], [])
        annotations += output.get("annotations", [])
        run["output"] = {"title": output.get("title"), "summary": output.get("summary"),
                         "text": output.get("text"), "annotations_count": len(annotations),
                         "annotations_url": f"{run['url']}/annotations"}


@handles("checks/create")
def _create_check_run(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    run = example("check-run")
    repo = _repo(params)
    run_id = state.next_id()
    run.update(id=run_id, status="queued", conclusion=None, started_at=now_iso(),
               completed_at=None, url=f"{state.api_url}/repos/{repo}/check-runs/{run_id}",
               html_url=f"https://github.com/{repo}/runs/{run_id}", external_id="",
               details_url=None)
    with state.lock:
        _apply_check_run(state, run, body)
        state.check_runs[run_id] = run
        state.check_run_repo[run_id] = repo
    return Answer(201, run)


def _check_run_of(state: DoubleState, params: Params) -> dict[str, Any] | None:
    run_id = int(params["check_run_id"])
    if state.check_run_repo.get(run_id) != _repo(params):
        return None
    return state.check_runs[run_id]


@handles("checks/get")
def _get_check_run(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        run = _check_run_of(state, params)
    return Answer(200, run) if run else Answer(404, {"message": "Not Found"})


@handles("checks/update")
def _update_check_run(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        run = _check_run_of(state, params)
        if run is None:
            return Answer(404, {"message": "Not Found"})
        _apply_check_run(state, run, body)
    return Answer(200, run)


@handles("checks/list-for-ref")
def _list_check_runs(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    name = query.get("check_name", [None])[0]
    with state.lock:
        runs = [run for run_id, run in sorted(state.check_runs.items())
                if state.check_run_repo[run_id] == _repo(params)
                and run["head_sha"] == params["ref"] and name in (None, run["name"])]
    return Answer(200, {"total_count": len(runs), "check_runs": _page(runs, query)})


def _comment(state: DoubleState, repo: str, number: int, comment_id: int,
             body: str, author: tuple[str, int | None]) -> dict[str, Any]:
    comment = example("issue-comment")
    login, app_id = author
    comment["user"].update(login=login, id=sum(map(ord, login)))
    comment["performed_via_github_app"] = None if app_id is None else {
        "id": app_id, "slug": login.removesuffix("[bot]"), "node_id": f"A_{app_id}",
        "owner": comment["user"], "name": login, "description": None,
        "external_url": "https://flakegate.example", "html_url": "https://github.com/apps/x",
        "created_at": now_iso(), "updated_at": now_iso(), "permissions": {}, "events": []}
    comment.update(id=comment_id, body=body, created_at=now_iso(), updated_at=now_iso(),
                   url=f"{state.api_url}/repos/{repo}/issues/comments/{comment_id}",
                   issue_url=f"{state.api_url}/repos/{repo}/issues/{number}",
                   html_url=f"https://github.com/{repo}/pull/{number}#issuecomment-{comment_id}")
    return comment


@handles("issues/list-comments")
def _list_comments(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    where = (_repo(params), int(params["issue_number"]))
    with state.lock:
        found = [state.comments[i] for i in sorted(state.comments)
                 if state.comment_where[i] == where]
    return Answer(200, _page(found, query))


@handles("issues/create-comment")
def _create_comment(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    repo, number = _repo(params), int(params["issue_number"])
    with state.lock:
        comment_id = state.next_id()
        comment = _comment(state, repo, number, comment_id, body["body"], state.caller())
        state.comments[comment_id] = comment
        state.comment_where[comment_id] = (repo, number)
    return Answer(201, comment, {"Location": comment["url"]})


def _comment_of(state: DoubleState, params: Params) -> dict[str, Any] | None:
    comment_id = int(params["comment_id"])
    where = state.comment_where.get(comment_id)
    return state.comments[comment_id] if where and where[0] == _repo(params) else None


@handles("issues/get-comment")
def _get_comment(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        comment = _comment_of(state, params)
    return Answer(200, comment) if comment else Answer(
        404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})


@handles("issues/update-comment")
def _update_comment(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        comment = _comment_of(state, params)
        if comment is None:
            return Answer(422, {"message": "Validation Failed",
                                "documentation_url": "https://docs.github.com/rest"})
        if comment["user"]["login"] != state.caller()[0]:
            # flakegate's token or App is no maintainer here: another's comment is not its own.
            return Answer(403, {"message": "Resource not accessible by integration",
                                "documentation_url": "https://docs.github.com/rest"},
                          undocumented=True)
        comment.update(body=body["body"], updated_at=now_iso())
    return Answer(200, comment)


@handles("issues/delete-comment")
def _delete_comment(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        if _comment_of(state, params) is not None:
            comment_id = int(params["comment_id"])
            del state.comments[comment_id], state.comment_where[comment_id]
    return Answer(204)


@handles("repos/list-pull-requests-associated-with-commit")
def _pulls_for_commit(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    repo = _repo(params)
    with state.lock:
        numbers = list(state.pulls.get((repo, params["commit_sha"]), []))
    pulls = []
    for number in numbers:
        pull = example("pull-request-simple-items")[0]
        # GitHub's example team lacks its required "type": no teams asked to review.
        pull.update(number=number, state="open", requested_teams=[],
                    url=f"{state.api_url}/repos/{repo}/pulls/{number}",
                    html_url=f"https://github.com/{repo}/pull/{number}")
        pull["head"]["sha"] = state.pull_heads.get((repo, number), params["commit_sha"])
        pulls.append(pull)
    return Answer(200, _page(pulls, query))


@handles("actions/get-workflow-run")
def _get_workflow_run(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        run = state.workflow_runs.get((_repo(params), int(params["run_id"])))
    return Answer(200, run) if run else Answer(404, {"message": "Not Found"})


@handles("actions/list-jobs-for-workflow-run")
def _list_jobs(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        jobs = list(state.jobs.get((_repo(params), int(params["run_id"])), []))
    return Answer(200, {"total_count": len(jobs), "jobs": _page(jobs, query)})


@handles("actions/download-job-logs-for-workflow-run")
def _job_log(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    return Answer(302, None, {"Location": f"{state.storage_url}/_storage/logs/"
                                          f"{int(params['job_id'])}?sig=signed"})


@handles("actions/list-workflow-run-artifacts")
def _list_artifacts(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        found = list(state.artifacts.get((_repo(params), int(params["run_id"])), []))
    return Answer(200, {"total_count": len(found), "artifacts": _page(found, query)})


@handles("actions/download-artifact")
def _artifact(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    return Answer(302, None, {"Location": f"{state.storage_url}/_storage/artifacts/"
                                          f"{int(params['artifact_id'])}?sig=signed"})


@handles("apps/get-repo-installation")
def _installation(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        installation_id = state.installations.get(_repo(params))
    if installation_id is None:
        return Answer(404, {"message": "Not Found",
                            "documentation_url": "https://docs.github.com/rest"})
    installation = example("installation")
    installation["id"] = installation_id
    return Answer(200, installation)


@handles("apps/create-installation-access-token")
def _access_token(state: DoubleState, params: Params, query: Query, body: Any) -> Answer:
    with state.lock:
        known = int(params["installation_id"]) in state.installations.values()
    if not known:
        return Answer(404, {"message": "Not Found",
                            "documentation_url": "https://docs.github.com/rest"})
    token = example("installation-token")
    token.update(token=f"ghs_{secrets.token_hex(16)}", expires_at=now_iso(state.token_lifetime))
    with state.lock:
        state.installation_tokens[token["token"]] = time.time() + state.token_lifetime
    return Answer(201, token)
