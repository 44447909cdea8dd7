"""The flakegate REST client.

Every request has a timeout. Idempotent calls (``GET``, ``PUT``, and the JUnit upload, which
the server de-duplicates by content hash) are re-sent on connection errors, timeouts, 429 and
5xx with jittered exponential backoff, honouring ``Retry-After``. Calls that are not
idempotent (``compute_baseline``: each call stores a new baseline version) are sent once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, overload
from urllib.parse import quote, urlencode

import requests

from client import errors
from client.models import AttachedFile, Job, Payload, Run, UploadResult, Verdict
from client.retry import RETRY_STATUSES, Backoff, RetryNotice, parse_retry_after
from client.upload import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_FILES, FileSource, batches

#: Seconds for connecting and for each read. Generous for a loaded server, short enough that
#: a hung connection costs a CI job minutes, not hours.
DEFAULT_TIMEOUT = 30.0
#: Uploads of many large files: the server parses every file before answering.
DEFAULT_UPLOAD_TIMEOUT = 300.0
DEFAULT_PAGE_SIZE = 500

T = TypeVar("T")
Timeout = float | tuple[float, float]
ProgressCallback = Callable[[int, int], None]  # (files sent so far, bytes sent so far)
PollCallback = Callable[[Verdict | None, float], None]  # (latest verdict or None, seconds waited)
RetryCallback = Callable[[RetryNotice], None]


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flakegate")
    except PackageNotFoundError:  # running from a source tree
        return "0"


def segment(value: str) -> str:
    """One path segment: every reserved character escaped, ``/`` included.

    ``.`` and ``..`` would be removed as dot segments by URL normalisation (urllib3 does it,
    so do proxies), so they are sent as ``%2E``; the server decodes them back.
    """
    if not value:
        raise errors.InputError("names used in URLs must not be empty")
    encoded = quote(value, safe="")
    if encoded.strip(".") == "":
        encoded = encoded.replace(".", "%2E")
    return encoded


class Client:
    def __init__(self, base_url: str, token: str | None = None, timeout: Timeout = DEFAULT_TIMEOUT,
                 retries: int = 7, session: requests.Session | None = None, *,
                 upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT, backoff: Backoff | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, deadline: float | None = None,
                 on_retry: RetryCallback | None = None) -> None:
        """``deadline`` (a ``clock()`` reading) bounds every call: no retry sleeps past it and
        no request waits longer than what is left; ``on_retry`` hears of every re-send."""
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise errors.InputError(
                f"the server URL must start with http:// or https://, got {base_url!r} "
                "(set --url or FLAKEGATE_URL)")
        if retries < 0:
            raise errors.InputError("retries must be zero or more")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        self.retries = retries
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._clock = clock
        self.deadline = deadline
        self.on_retry = on_retry
        self._own_session = session is None
        self.session = session or requests.Session()
        self.user_agent = f"flakegate-client/{package_version()}"

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- jobs ---------------------------------------------------------------------------------

    def put_job(self, name: str, *, variant: Mapping[str, str] | None = None,
                policy: str | None = None, expected_runs: int | None = None,
                settings: Mapping[str, Any] | None = None) -> Job:
        body = _without_none({"variant": variant, "policy": policy,
                              "expected_runs": expected_runs, "settings": settings})
        return self._model(Job.from_json, self._call("PUT", f"/jobs/{segment(name)}", json=body))

    def get_job(self, name: str) -> Job:
        return self._model(Job.from_json, self._call("GET", f"/jobs/{segment(name)}"))

    def list_jobs(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[Job]:
        for item in self._pages("/jobs", {}, page_size):
            yield self._model(Job.from_json, item)

    # -- runs ---------------------------------------------------------------------------------

    def put_run(self, job: str, run_id: str, *, payload: str | None = None,
                status: str = "pending", started_at: datetime | None = None,
                finished_at: datetime | None = None, url: str | None = None,
                variant: Mapping[str, str] | None = None,
                metadata: Mapping[str, str] | None = None,
                tests: Sequence[Mapping[str, Any]] | None = None) -> Run:
        """Create or replace a run. Fields left ``None`` are sent as absent, which the server
        stores as null/empty: to change one field, read the run and send it back."""
        body = _without_none({
            "payload": payload, "status": status,
            "started_at": started_at.isoformat() if started_at else None,
            "finished_at": finished_at.isoformat() if finished_at else None,
            "url": url, "variant": dict(variant) if variant is not None else None,
            "metadata": dict(metadata) if metadata is not None else None,
            "tests": [dict(test) for test in tests] if tests is not None else None,
        })
        return self._model(Run.from_json, self._call("PUT", _run_path(job, run_id), json=body))

    def get_run(self, job: str, run_id: str) -> Run:
        return self._model(Run.from_json, self._call("GET", _run_path(job, run_id)))

    def delete_run(self, job: str, run_id: str, *, reason: str | None = None) -> None:
        """Delete the run with its results and files (admin scope; audited by the server)."""
        self._send("DELETE", _run_path(job, run_id), params=_without_none({"reason": reason}))

    def list_runs(self, job: str, *, payload: str | None = None, status: str | None = None,
                  since: datetime | None = None,
                  page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[Run]:
        params = _without_none({"payload": payload, "status": status,
                                "since": since.isoformat() if since else None})
        for item in self._pages(f"/jobs/{segment(job)}/runs", params, page_size):
            yield self._model(Run.from_json, item)

    def upload_junit(self, job: str, run_id: str, files: Iterable[FileSource], *,
                     max_bytes: int = DEFAULT_BATCH_BYTES, max_files: int = DEFAULT_BATCH_FILES,
                     root: Path | None = None,
                     on_progress: ProgressCallback | None = None) -> UploadResult:
        """Attach JUnit files (paths, or ``(name, content)`` pairs) to an existing run: each
        gzip-compressed, several per multipart request, requests kept under ``max_bytes``.
        A path is recorded relative to ``root`` (default: the working directory).

        Re-sending is safe (the server skips content it already has), so a failed batch is
        retried like any idempotent call, and re-running a whole upload is harmless.
        """
        path = _run_path(job, run_id) + "/junit"
        attached: list[AttachedFile] = []
        run: Run | None = None
        sent_files = sent_bytes = requests_made = 0
        for batch in batches(files, max_bytes=max_bytes, max_files=max_files, root=root):
            parts = [("file", (part.name, part.data, "application/gzip")) for part in batch]
            body = self._call("POST", path, files=parts, idempotent=True,
                              timeout=self.upload_timeout)
            run = self._model(Run.from_json, body.get("run"))
            attached.extend(self._model(AttachedFile.from_json, item)
                            for item in body.get("files") or ())
            requests_made += 1
            sent_files += len(batch)
            sent_bytes += sum(len(part.data) for part in batch)
            if on_progress:
                on_progress(sent_files, sent_bytes)
        return UploadResult(run=run, files=tuple(attached), requests=requests_made,
                            bytes_sent=sent_bytes)

    def compute_baseline(self, job: str, *, window_days: int | None = None,
                         max_runs: int | None = None,
                         exclude_payload: str | None = None) -> dict[str, Any]:
        """Store a new baseline version from the job's history; returns its summary.

        Not idempotent (every call adds a version), so it is never re-sent automatically.
        """
        body = _without_none({"window_days": window_days, "max_runs": max_runs,
                              "exclude_payload": exclude_payload})
        return self._call("POST", f"/jobs/{segment(job)}/baselines", json=body,
                          idempotent=False)

    def get_baseline(self, job: str, *, version: int | None = None,
                     page_size: int = DEFAULT_PAGE_SIZE
                     ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A baseline version (the newest by default) and every one of its tests."""
        params = _without_none({"version": version})
        summary: dict[str, Any] = {}
        tests: list[dict[str, Any]] = []
        for body in self._page_bodies(f"/jobs/{segment(job)}/baseline", params, page_size):
            summary = body.get("baseline") or summary
            if "version" in summary:  # later pages: the same version, even if one is added
                params["version"] = summary["version"]
            tests.extend(body["items"])
        return summary, tests

    # -- payloads and verdicts ----------------------------------------------------------------

    def put_payload(self, payload: str, *, expected: Mapping[str, int] | None = None,
                    deadline: datetime | None = None) -> Payload:
        body = _without_none({"expected": dict(expected) if expected is not None else None,
                              "deadline": deadline.isoformat() if deadline else None})
        return self._model(Payload.from_json,
                           self._call("PUT", f"/payloads/{segment(payload)}", json=body))

    def get_payload(self, payload: str) -> Payload:
        return self._model(Payload.from_json, self._call("GET", f"/payloads/{segment(payload)}"))

    @overload
    def get_verdict(self, payload: str, policy: str | None = ...,
                    format: Literal["json"] = ...) -> Verdict: ...

    @overload
    def get_verdict(self, payload: str, policy: str | None = ...,
                    format: Literal["markdown"] = ...) -> str: ...

    def get_verdict(self, payload: str, policy: str | None = None,
                    format: Literal["json", "markdown"] = "json") -> Verdict | str:
        """The payload's verdict; ``format="markdown"`` returns the server's rendering."""
        if format == "markdown":
            response = self._send("GET", _verdict_path(payload),
                                  params=_without_none({"policy": policy, "format": "markdown"}),
                                  headers={"Accept": "text/markdown"}, idempotent=True)
            if "charset" not in response.headers.get("Content-Type", "").lower():
                # requests would read text/* without a charset as Latin-1; Markdown is UTF-8.
                response.encoding = "utf-8"
            return response.text
        return self._verdict(payload, policy, previous=None)

    def wait_for_verdict(self, payload: str, timeout: float, poll: float = 30.0, *,
                         policy: str | None = None,
                         on_poll: PollCallback | None = None) -> Verdict:
        """Poll until the verdict is ``pass`` or ``fail``; raise :class:`VerdictPending` when
        ``timeout`` seconds pass first (``timeout=0`` looks exactly once).

        Made for a gate job that may start before the shards have reported: an unknown payload
        (404: no run has named it yet) is waited out like a pending verdict, and is still
        :class:`VerdictPending` (without a verdict) at the timeout. A server that stops
        answering *during* the wait is waited out too (each look already retried); one that
        is unavailable at the first look is reported at once, so that ``--fail-open`` does
        not first sit out the whole timeout.
        """
        if poll <= 0:
            raise errors.InputError("the poll interval must be positive")
        started = self._clock()
        deadline = started + max(0.0, timeout)
        last: Verdict | None = None
        answered = False
        while True:
            problem: errors.FlakegateError | None = None
            try:
                last = self._verdict(payload, policy, previous=last)
                answered = True
            except errors.NotFoundError as err:
                answered = True
                problem = err
            except errors.FlakegateError as err:
                if not (err.unavailable and answered):
                    raise
                problem = err
            else:
                if not last.pending:
                    return last
            waited = self._clock() - started
            if on_poll:
                on_poll(None if problem else last, waited)
            remaining = deadline - self._clock()
            if remaining <= 0:
                if last is None and problem is not None \
                        and not isinstance(problem, errors.NotFoundError):
                    raise problem
                raise errors.VerdictPending(payload, last, waited)
            self._sleep(min(poll, remaining))

    def _verdict(self, payload: str, policy: str | None, previous: Verdict | None) -> Verdict:
        # With the previous ETag the server answers 304 when nothing changed: a long wait
        # polls cheaply.
        headers = {"If-None-Match": previous.etag} if previous and previous.etag else {}
        response = self._send("GET", _verdict_path(payload),
                              params=_without_none({"policy": policy}), headers=headers,
                              idempotent=True)
        if response.status_code == 304 and previous is not None:
            return previous
        body = self._json(response)
        return self._model(lambda item: Verdict.from_json(item, response.headers.get("ETag")),
                           body, response)

    # -- plumbing -----------------------------------------------------------------------------

    # -- patterns: failure patterns and scans (client/patterns.py is the CLI) ----------------

    def list_patterns(self, *, include_retired: bool = False,
                      page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        params = {"include_retired": "true"} if include_retired else {}
        return self._pages("/patterns", params, page_size)

    def create_pattern(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/patterns", json=dict(fields))

    def edit_pattern(self, pattern_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        # PATCH with the same fields again changes nothing: safe to retry.
        return self._call("PATCH", f"/patterns/{int(pattern_id)}", json=dict(fields),
                          idempotent=True)

    def start_scan(self, *, since: str | None = None, job: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/scans", json=_without_none({"since": since, "job": job}))

    def get_scan(self, scan_id: int) -> dict[str, Any]:
        return self._call("GET", f"/scans/{int(scan_id)}")

    def _pages(self, path: str, params: dict[str, Any], page_size: int
               ) -> Iterator[dict[str, Any]]:
        for body in self._page_bodies(path, params, page_size):
            yield from body["items"]

    def _page_bodies(self, path: str, params: dict[str, Any], page_size: int
                     ) -> Iterator[dict[str, Any]]:
        """Each page's whole body, following ``next_cursor``; ``params`` is read afresh for
        every page, so a caller may pin a value the first page told it."""
        cursor: str | None = None
        while True:
            query = {**params, "limit": page_size, **({"cursor": cursor} if cursor else {})}
            body = self._call("GET", path, params=query)
            items, next_cursor = body.get("items"), body.get("next_cursor")
            if not isinstance(items, list):
                raise errors.UnexpectedResponse(f"a page without items: {body!r:.200}",
                                                method="GET", url=self.base_url + path)
            yield body
            if not next_cursor:
                return
            if next_cursor == cursor:  # a server bug would otherwise loop forever
                raise errors.UnexpectedResponse("the server returned the same cursor twice",
                                                method="GET", url=self.base_url + path)
            cursor = next_cursor

    # -- build logs (issue 13) --

    def put_log(self, job: str, run_id: str, step: str, gzipped: bytes) -> dict[str, Any]:
        """Store the gzip-compressed log of one step of an existing run; the server's answer
        (``outcome``, ``lines``, ``truncated``, ...). Re-sending is a no-op, hence retried."""
        return self._call("PUT", f"{_run_path(job, run_id)}/logs/{segment(step)}",
                          data=gzipped, idempotent=True, timeout=self.upload_timeout,
                          headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"})

    def _call(self, method: str, path: str, *, idempotent: bool | None = None,
              **kwargs: Any) -> dict[str, Any]:
        return self._json(self._send(method, path, idempotent=idempotent, **kwargs))

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None, files: Any = None, data: bytes | None = None,
              headers: Mapping[str, str] | None = None,
              idempotent: bool | None = None, timeout: Timeout | None = None,
              ) -> requests.Response:
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        url = self.base_url + path
        exact_url = url + ("?" + urlencode(params) if params else "")
        request_headers = {"Accept": "application/json", "User-Agent": self.user_agent,
                           **(headers or {})}
        if self.token:
            request_headers["Authorization"] = f"Bearer {self.token}"
        prepared = self.session.prepare_request(requests.Request(
            method, url, params=params, json=json, files=files, data=data,
            headers=request_headers))
        if "%2E" in path:  # only a dot segment: requests would re-quote it back into a dot
            prepared.url = exact_url
        settings = self.session.merge_environment_settings(prepared.url, {}, None, None, None)
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                response = self.session.send(prepared, timeout=self._bounded(timeout),
                                             allow_redirects=True, **settings)
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema) as err:
                raise errors.InputError(f"bad server URL {url!r}: {err}") from None
            except requests.Timeout as err:
                failure: errors.FlakegateError = errors.RequestTimedOut(
                    f"{method} {url}: timed out ({errors.reason(err)})", method=method, url=url,
                    attempts=attempt + 1)
                short = "timed out"
            except requests.RequestException as err:
                failure = errors.ConnectionFailed(
                    f"{method} {url}: cannot reach the server ({errors.reason(err)})",
                    method=method, url=url, attempts=attempt + 1)
                short = errors.short_reason(err)
            else:
                if response.status_code < 400:
                    return response
                api_error = errors.from_response(response, method, url)
                if response.status_code not in RETRY_STATUSES:
                    raise api_error
                failure = api_error
                short = f"HTTP {api_error.status} {api_error.code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt + 1 >= attempts:
                raise failure
            delay = self.backoff.delay(attempt, retry_after)
            if self.deadline is not None and self._clock() + delay > self.deadline:
                raise failure  # the command's --timeout comes first: no sleep past it
            if self.on_retry:
                self.on_retry(RetryNotice(delay, attempt + 2, attempts, short))
            self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _bounded(self, timeout: Timeout | None) -> Timeout:
        """The request's timeout, cut to what is left before the deadline (at least a second,
        so that a call made just before it still gets an answer)."""
        timeout = timeout or self.timeout
        if self.deadline is None:
            return timeout
        left = max(1.0, self.deadline - self._clock())
        if isinstance(timeout, tuple):
            return (min(timeout[0], left), min(timeout[1], left))
        return min(timeout, left)

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise errors.UnexpectedResponse(
                f"expected a JSON object, got {response.headers.get('Content-Type')!r}: "
                f"{response.text[:200]!r}", method=response.request.method or "",
                url=response.url, status=response.status_code)
        return body

    @staticmethod
    def _model(build: Callable[[Any], T], body: Any,
               response: requests.Response | None = None) -> T:
        try:
            return build(body)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            where = f" from {response.url}" if response is not None else ""
            raise errors.UnexpectedResponse(
                f"the response{where} does not match the contract ({type(err).__name__}: "
                f"{err})") from None


def _run_path(job: str, run_id: str) -> str:
    return f"/jobs/{segment(job)}/runs/{segment(run_id)}"


def _verdict_path(payload: str) -> str:
    return f"/payloads/{segment(payload)}/verdict"


def _without_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
