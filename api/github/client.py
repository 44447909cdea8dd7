"""A small GitHub REST client on ``requests``: the calls flakegate makes, GitHub's rate limits
honoured, only safe calls repeated.

* Base URL from ``FLAKEGATE_GITHUB_API_URL`` (GitHub Enterprise Server: ``https://host/api/v3``).
* Rate limits (:mod:`api.github.ratelimit`): a refused call waits what GitHub asks and is
  repeated, within ``max_wait`` seconds in total per call; an answer that spends the last call
  of the budget makes the next call wait for the reset.
* Repeated (after a rate limit, a 5xx or a broken connection) are only GET, PUT, PATCH and
  DELETE, and a POST its caller declares idempotent (a commit status replaces the previous one
  of its context). A POST that creates a comment or a check run is never repeated here: the
  caller looks for what it may have created first (:mod:`api.github.publish`).
* Downloads (job logs, artifacts) answer 302 to a signed storage URL, fetched WITHOUT the
  Authorization header and bounded in size. Its redirects are followed by hand, at most
  :data:`MAX_STORAGE_HOPS`, https only, and never with credentials: no ~/.netrc (requests would
  add it for each new host), though the environment's proxies and CA bundle still apply.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from api.github.auth import AppAuth, Auth, TokenAuth
from api.github.errors import GitHubError, GitHubRateLimited, GitHubTooLarge
from api.github.ratelimit import exhausted_until, rate_limit_wait

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
USER_AGENT = "flakegate"
PER_PAGE = 100
MAX_PAGES = 50  # 5,000 comments / jobs / artifacts: far beyond any one pull request or run
RETRIES = 3  # attempts after a 5xx or a broken connection, for calls safe to repeat
MAX_RATE_LIMIT_REPEATS = 10  # a Retry-After of 0 repeated forever must still end
_TRANSIENT = frozenset({500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_STORAGE_HOPS = 3  # GitHub's 302 to storage, and a storage that redirects again once or twice
# GitHub's own rules for owner and repository names; anything else never reaches a URL path.
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def valid_repository(repository: str) -> bool:
    return bool(_REPOSITORY.match(repository)) and not repository.endswith(("/.", "/.."))


class _NoAuth(requests.auth.AuthBase):
    """Sends no credentials at all (not even ~/.netrc's): for the signed storage URLs."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers.pop("Authorization", None)
        return r


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _storage_url(location: str, current: str, what: str, path: str) -> str:
    """The next hop of a download: ``location`` resolved against ``current``, refused unless
    https. Plain http is allowed only to a loopback host, where nothing travels over a network
    (the tests' GitHub double serves its storage on http://localhost)."""
    if not location:
        raise GitHubError(f"{what}: a redirect without a Location", method="GET", path=path)
    url = urljoin(current, location)
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname)):
        return url
    raise GitHubError(f"{what}: storage URL refused, not https: {url[:200]!r}", method="GET",
                      path=path)


def _storage_session() -> requests.Session:
    # trust_env off: requests would otherwise look each new host up in ~/.netrc and send what
    # it finds. The proxies and CA bundle the environment names are passed explicitly instead.
    session = requests.Session()
    session.trust_env = False
    return session


def _environment(url: str) -> dict[str, Any]:
    """What requests takes from the environment for ``url`` besides credentials."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return {"proxies": requests.utils.get_environ_proxies(url), "verify": bundle or True}


def _read_bounded(response: requests.Response, max_bytes: int, what: str) -> bytes:
    length = response.headers.get("Content-Length", "")
    if length.isascii() and length.isdigit() and int(length) > max_bytes:  # not "²"
        raise GitHubTooLarge(f"{what} is {length} bytes, more than {max_bytes}")
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > max_bytes:
            raise GitHubTooLarge(f"{what} is more than {max_bytes} bytes")
    return bytes(body)


class GitHubClient:
    def __init__(self, base_url: str, auth: Auth, *, max_wait: float = 300.0,
                 timeout: float = 30.0, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.max_wait = max_wait
        self.timeout = timeout
        self.session = session or requests.Session()
        self.storage = _storage_session()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._exhausted: dict[str, float] = {}  # token -> epoch second its budget returns

    # -- the transport ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, repository: str | None,
                params: Mapping[str, Any] | None = None, json: Any = None,
                idempotent: bool | None = None, stream: bool = False,
                bearer: str | None = None) -> requests.Response:
        """One call, repeated as the rules above allow. Returns any answer below 400 (a 3xx
        too: redirects are never followed here); raises :class:`GitHubError` otherwise."""
        if repository is not None and not valid_repository(repository):
            raise GitHubError(f"not a repository name: {repository!r}")
        safe = method != "POST" if idempotent is None else idempotent
        waited = failures = limited = 0.0
        refreshed = False
        while True:
            token = bearer or self.auth.token_for(repository, self._app_request)
            waited += self._wait_for_budget(token, waited, method, path)
            try:
                response = self.session.request(
                    method, self.base_url + path, params=params, json=json, stream=stream,
                    timeout=self.timeout, allow_redirects=False, headers=self._headers(token))
            except requests.RequestException as err:
                if not safe or failures >= RETRIES:
                    raise GitHubError(f"unreachable: {err}", method=method, path=path) from err
                failures += 1
                self._sleep(2 ** failures)
                continue
            self._note_budget(token, response.headers)
            status = response.status_code
            if status < 400:
                return response
            message = _message(response)
            wait = rate_limit_wait(status, response.headers, message, self._clock())
            if wait is not None:
                if not safe or waited + wait > self.max_wait or limited >= MAX_RATE_LIMIT_REPEATS:
                    raise GitHubRateLimited(message or "rate limited", retry_after=wait,
                                            status=status, method=method, path=path)
                log.info("GitHub rate limit on %s %s: waiting %.0f s", method, path, wait)
                with self._lock:  # this wait covers the budget's reset too
                    self._exhausted.pop(token, None)
                self._sleep(wait)
                waited += wait
                limited += 1
                continue
            if status == 401 and bearer is None and not refreshed:
                # An installation token revoked or expired early: mint a new one, once. The
                # refused call did nothing, so even a POST may go again.
                self.auth.forget(repository)
                refreshed = True
                continue
            if status in _TRANSIENT and safe and failures < RETRIES:
                failures += 1
                self._sleep(2 ** failures)
                continue
            raise GitHubError(message or response.reason, status=status, method=method,
                              path=path)

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` (a rate limit's ``retry_after``) when that is within ``max_wait``;
        False, without waiting, when it is not. For callers that repeat a non-idempotent call
        themselves, after looking for what the refused one may have created."""
        if seconds > self.max_wait:
            return False
        self._sleep(seconds)
        return True

    def _headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION, "User-Agent": USER_AGENT}

    def _app_request(self, method: str, path: str, body: dict[str, Any] | None,
                     bearer: str) -> Any:
        # Minting an installation token creates nothing anyone sees: safe to repeat.
        return self.request(method, path, repository=None, json=body, bearer=bearer,
                            idempotent=True).json()

    def _wait_for_budget(self, token: str, waited: float, method: str, path: str) -> float:
        with self._lock:
            until = self._exhausted.get(token)
        if until is None:
            return 0.0
        wait = until + 1.0 - self._clock()
        if wait <= 0:
            with self._lock:
                self._exhausted.pop(token, None)
            return 0.0
        if waited + wait > self.max_wait:
            raise GitHubRateLimited("rate limit budget spent", retry_after=wait, method=method,
                                    path=path)
        log.info("GitHub rate limit budget spent: waiting %.0f s", wait)
        self._sleep(wait)
        return wait

    def _note_budget(self, token: str, headers: Mapping[str, str]) -> None:
        until = exhausted_until(headers)
        if until is not None:
            with self._lock:
                self._exhausted[token] = until

    def _json(self, method: str, path: str, repository: str, **kwargs: Any) -> Any:
        return self.request(method, path, repository=repository, **kwargs).json()

    def _pages(self, path: str, repository: str, key: str | None = None,
               params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        for page in range(1, MAX_PAGES + 1):
            answer = self._json("GET", path, repository,
                                params={**(params or {}), "per_page": PER_PAGE, "page": page})
            items = answer[key] if key is not None else answer
            yield from items
            if len(items) < PER_PAGE:
                return

    def _download(self, path: str, repository: str, max_bytes: int, what: str) -> bytes:
        response = self.request("GET", path, repository=repository, stream=True)
        url, hops = self.base_url + path, 0
        while response.status_code in _REDIRECTS:
            response.close()
            if hops == MAX_STORAGE_HOPS:
                raise GitHubError(f"{what}: more than {MAX_STORAGE_HOPS} redirects",
                                  method="GET", path=path)
            url = _storage_url(response.headers.get("Location", ""), url, what, path)
            hops += 1
            try:
                # The storage URL carries its own signature: no credentials travel there.
                response = self.storage.get(url, stream=True, timeout=self.timeout,
                                            allow_redirects=False, auth=_NoAuth(),
                                            headers={"User-Agent": USER_AGENT},
                                            **_environment(url))
            except requests.RequestException as err:
                raise GitHubError(f"{what} storage unreachable: {err}", method="GET",
                                  path=path) from err
        if hops and response.status_code >= 300:
            response.close()
            raise GitHubError(f"{what} storage answered", status=response.status_code,
                              method="GET", path=path)
        with response:
            return _read_bounded(response, max_bytes, what)

    # -- Actions: what webhook handling reads -------------------------------------------------

    def get_workflow_run(self, repository: str, run_id: int) -> dict[str, Any]:
        return self._json("GET", f"/repos/{repository}/actions/runs/{int(run_id)}", repository)

    def list_workflow_jobs(self, repository: str, run_id: int,
                           filter: str = "latest") -> list[dict[str, Any]]:
        return list(self._pages(f"/repos/{repository}/actions/runs/{int(run_id)}/jobs",
                                repository, "jobs", {"filter": filter}))

    def download_job_log(self, repository: str, job_id: int, max_bytes: int) -> bytes:
        return self._download(f"/repos/{repository}/actions/jobs/{int(job_id)}/logs",
                              repository, max_bytes, f"log of job {job_id}")

    def list_artifacts(self, repository: str, run_id: int) -> list[dict[str, Any]]:
        return list(self._pages(f"/repos/{repository}/actions/runs/{int(run_id)}/artifacts",
                                repository, "artifacts"))

    def download_artifact(self, repository: str, artifact: Mapping[str, Any],
                          max_bytes: int) -> bytes:
        """The zip of one artifact as :meth:`list_artifacts` lists it (its
        ``archive_download_url``, which must be on this API: the token goes nowhere else)."""
        url = str(artifact.get("archive_download_url", ""))
        if not url.startswith(self.base_url + "/"):
            raise GitHubError(f"artifact URL outside {self.base_url}: {url!r}")
        size = artifact.get("size_in_bytes")
        if isinstance(size, int) and size > max_bytes:
            raise GitHubTooLarge(f"artifact {artifact.get('name')!r} is {size} bytes,"
                                 f" more than {max_bytes}")
        return self._download(url[len(self.base_url):], repository, max_bytes,
                              f"artifact {artifact.get('name')!r}")

    # -- publishing: statuses, check runs, comments -------------------------------------------

    def create_status(self, repository: str, sha: str, *, state: str, context: str,
                      description: str, target_url: str | None) -> dict[str, Any]:
        body = {"state": state, "context": context, "description": description,
                "target_url": target_url}
        # A second status of the same context replaces the first: repeating is harmless.
        return self._json("POST", f"/repos/{repository}/statuses/{sha}", repository, json=body,
                          idempotent=True)

    def list_check_runs(self, repository: str, ref: str,
                        check_name: str) -> list[dict[str, Any]]:
        return list(self._pages(f"/repos/{repository}/commits/{ref}/check-runs", repository,
                                "check_runs", {"check_name": check_name, "filter": "all"}))

    def create_check_run(self, repository: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/repos/{repository}/check-runs", repository, json=body)

    def update_check_run(self, repository: str, check_run_id: int,
                         body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("PATCH", f"/repos/{repository}/check-runs/{int(check_run_id)}",
                          repository, json=body)

    def pulls_for_commit(self, repository: str, sha: str) -> list[dict[str, Any]]:
        return list(self._pages(f"/repos/{repository}/commits/{sha}/pulls", repository))

    def list_issue_comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        return list(self._pages(f"/repos/{repository}/issues/{int(number)}/comments",
                                repository))

    def get_issue_comment(self, repository: str, comment_id: int) -> dict[str, Any] | None:
        """The comment, or None when it was deleted."""
        try:
            return self._json("GET", f"/repos/{repository}/issues/comments/{int(comment_id)}",
                              repository)
        except GitHubError as err:
            if err.status == 404:
                return None
            raise

    def create_issue_comment(self, repository: str, number: int, body: str) -> dict[str, Any]:
        return self._json("POST", f"/repos/{repository}/issues/{int(number)}/comments",
                          repository, json={"body": body})

    def update_issue_comment(self, repository: str, comment_id: int,
                             body: str) -> dict[str, Any]:
        return self._json("PATCH", f"/repos/{repository}/issues/comments/{int(comment_id)}",
                          repository, json={"body": body})


def client_from_config(config: Mapping[str, Any]) -> GitHubClient | None:
    """The client the configuration describes, or None when GitHub is not configured (neither
    ``FLAKEGATE_GITHUB_TOKEN`` nor a GitHub App): then nothing is published."""
    auth: Auth
    if config.get("GITHUB_APP_ID") and config.get("GITHUB_APP_PRIVATE_KEY_FILE"):
        key = Path(config["GITHUB_APP_PRIVATE_KEY_FILE"]).read_text()
        auth = AppAuth(str(config["GITHUB_APP_ID"]), key)
    elif config.get("GITHUB_TOKEN"):
        auth = TokenAuth(str(config["GITHUB_TOKEN"]))
    else:
        return None
    return GitHubClient(str(config.get("GITHUB_API_URL") or "https://api.github.com"), auth,
                        max_wait=float(config.get("GITHUB_MAX_WAIT", 300)),
                        timeout=float(config.get("GITHUB_TIMEOUT", 30)))
