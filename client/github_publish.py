"""Post the server's rendering of a verdict (``GET /payloads/{payload}/github``) to GitHub with
the workflow's own token: the GitHub Action's ``comment``, ``check-run`` and ``commit-status``
inputs. The client never imports ``api``: the server renders, this only posts.

The comment is found again by its hidden marker and edited in place (not when unchanged), but
only a comment written by ``author`` (the Action's ``comment-author``; default
``github-actions[bot]``, who writes with the workflow's own token): anyone who may comment can
write the marker too, and GitHub's REST subset flakegate uses has no ``GET /user`` to ask the
token who it is. A comment GitHub refuses to let it edit (403, 404) is replaced by a new one
rather than failing every run. The
check run ``flakegate`` of the commit is updated when it exists (annotations go with its
creation only, since GitHub appends them on every update). Rate limits: a refused call waits
what GitHub asks (``Retry-After``, ``X-RateLimit-Reset``) within ``max_wait``; a refused
creation is repeated only after looking again for what it would have created.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from client.ci_env import github_head_sha

PER_PAGE = 100
DEFAULT_AUTHOR = "github-actions[bot]"  # who writes with a workflow's own GITHUB_TOKEN
ANNOTATIONS_PER_REQUEST = 50


class GitHubPostError(Exception):
    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _rate_limit_wait(response: requests.Response) -> float | None:
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    if headers.get("Retry-After", "").strip().isdigit():
        return float(headers["Retry-After"])
    reset = headers.get("X-RateLimit-Reset", "").strip()
    if headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
        return max(0.0, float(reset) - time.time()) + 1.0
    if response.status_code == 429 or "rate limit" in response.text.lower():
        return 60.0
    return None


class GitHubPoster:
    def __init__(self, api_url: str, token: str, repository: str, *,
                 session: requests.Session | None = None, max_wait: float = 300.0,
                 sleep: Callable[[float], None] = time.sleep,
                 author: str = DEFAULT_AUTHOR) -> None:
        self.api_url = api_url.rstrip("/")
        self.repo = repository
        self.author = author
        self.session = session or requests.Session()
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": "flakegate-action",
                        "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": "2022-11-28"}
        self.max_wait = max_wait
        self.sleep = sleep

    def call(self, method: str, path: str, *, json_body: Any = None,
             params: Mapping[str, Any] | None = None, repeat: bool = True) -> Any:
        waited = 0.0
        while True:
            response = self.session.request(method, f"{self.api_url}/repos/{self.repo}{path}",
                                            json=json_body, params=params,
                                            headers=self.headers, timeout=60)
            if response.status_code < 400:
                return response.json() if response.content else None
            wait = _rate_limit_wait(response)
            if wait is not None and repeat and waited + wait <= self.max_wait:
                self.sleep(wait)
                waited += wait
                continue
            raise GitHubPostError(f"GitHub {method} {path}: {response.status_code} "
                                  f"{response.text[:200]}", status=response.status_code,
                                  retry_after=wait)

    def _pages(self, path: str, key: str | None = None,
               params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in range(1, 51):
            answer = self.call("GET", path, params={**(params or {}), "per_page": PER_PAGE,
                                                    "page": page})
            items = answer[key] if key else answer
            found += items
            if len(items) < PER_PAGE:
                break
        return found

    def _create(self, path: str, body: Mapping[str, Any],
                find: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        """A POST that creates something: repeated after a rate limit only when ``find()``
        shows the refused one created nothing."""
        try:
            return dict(self.call("POST", path, json_body=body, repeat=False))
        except GitHubPostError as err:
            if err.retry_after is None or err.retry_after > self.max_wait:
                raise
            self.sleep(err.retry_after)
            return find() or dict(self.call("POST", path, json_body=body, repeat=False))

    def pulls(self, sha: str) -> list[int]:
        """The open pull requests whose head is ``sha``."""
        return [int(p["number"]) for p in self._pages(f"/commits/{sha}/pulls")
                if p.get("state") == "open" and p.get("head", {}).get("sha") == sha]

    def post_comment(self, number: int, marker: str, body: str) -> str:
        refused: set[int] = set()

        def find() -> dict[str, Any] | None:
            return next((c for c in self._pages(f"/issues/{number}/comments")
                         if str(c.get("body") or "").startswith(marker)
                         and (c.get("user") or {}).get("login") == self.author
                         and c.get("id") not in refused), None)

        existing = find()
        if existing is not None:
            if existing.get("body") == body:
                return "unchanged"
            try:
                self.call("PATCH", f"/issues/comments/{int(existing['id'])}",
                          json_body={"body": body})
                return "updated"
            except GitHubPostError as err:
                # Not ours to edit after all (or deleted meanwhile): a new one, not a failure
                # repeated on every run.
                if err.status not in (403, 404) or err.retry_after is not None:
                    raise
                refused.add(int(existing["id"]))
        self._create(f"/issues/{number}/comments", {"body": body}, find)
        return "created"

    def post_check_run(self, sha: str, check: Mapping[str, Any]) -> str:
        def find() -> dict[str, Any] | None:
            runs = self._pages(f"/commits/{sha}/check-runs", "check_runs",
                               {"check_name": check["name"], "filter": "latest"})
            return runs[0] if runs else None

        request: dict[str, Any] = {"name": check["name"], "status": check["status"],
                                   "output": {"title": check["title"],
                                              "summary": check["summary"]}}
        if check.get("conclusion"):
            request["conclusion"] = check["conclusion"]
        if check.get("details_url"):
            request["details_url"] = check["details_url"]
        existing = find()
        if existing is not None:
            self.call("PATCH", f"/check-runs/{int(existing['id'])}", json_body=request)
            return "updated"
        annotations = list(check.get("annotations") or [])
        request["output"]["annotations"] = annotations[:ANNOTATIONS_PER_REQUEST]
        created = self._create("/check-runs", {**request, "head_sha": sha}, find)
        for start in range(ANNOTATIONS_PER_REQUEST, len(annotations), ANNOTATIONS_PER_REQUEST):
            self.call("PATCH", f"/check-runs/{int(created['id'])}", json_body={"output": {
                "title": check["title"], "summary": check["summary"],
                "annotations": annotations[start:start + ANNOTATIONS_PER_REQUEST]}})
        return "created"

    def post_status(self, sha: str, status: Mapping[str, Any]) -> str:
        # A status of the same context replaces the previous one: safe to repeat.
        self.call("POST", f"/statuses/{sha}", json_body={
            "state": status["state"], "context": status["context"],
            "description": status["description"], "target_url": status["target_url"]})
        return "updated"


def commit_to_publish(env: Mapping[str, str], given: str = "") -> str:
    """The commit people see: ``given``, else the pull request's head (a ``pull_request``
    workflow runs on a merge commit), else the triggering run's head (``workflow_run``), else
    ``GITHUB_SHA``."""
    return given or github_head_sha(env) or env.get("GITHUB_SHA", "")


def publish(poster: GitHubPoster, rendering: Mapping[str, Any], sha: str, *,
            comment: bool, check_run: bool, commit_status: bool,
            pulls: Sequence[int] | None = None) -> list[str]:
    """Post what was asked; one line per post ("comment on #12: created")."""
    done: list[str] = []
    if commit_status:
        for status in rendering["statuses"]:
            done.append(f"status {status['context']}: {poster.post_status(sha, status)}")
    if check_run:
        done.append(f"check run: {poster.post_check_run(sha, rendering['check_run'])}")
    if comment:
        marker, body = rendering["comment"]["marker"], rendering["comment"]["body"]
        for number in pulls if pulls else poster.pulls(sha):
            done.append(f"comment on #{number}: {poster.post_comment(number, marker, body)}")
    return done
