"""How the client talks HTTP: timeouts, retries with backoff, errors, pages.

Every request has a timeout. Idempotent calls (``GET``, ``PUT``, ``DELETE``, and calls the
caller marks idempotent, such as the JUnit upload the server de-duplicates by content hash) are
re-sent on connection errors, timeouts, 429 and 5xx with jittered exponential backoff, honouring
``Retry-After``, never past the caller's deadline. Other calls are sent once.
:class:`client.api.Client` adds the resources on top of :class:`Transport`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Self, TypeVar
from urllib.parse import quote, urlencode

import requests

from client import errors
from client.retry import RETRY_STATUSES, Backoff, RetryNotice, parse_retry_after

#: Seconds for connecting and for each read. Generous for a loaded server, short enough that
#: a hung connection costs a CI job minutes, not hours.
DEFAULT_TIMEOUT = 30.0
#: Uploads of many large files: the server parses every file before answering.
DEFAULT_UPLOAD_TIMEOUT = 300.0

T = TypeVar("T")
Timeout = float | tuple[float, float]
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


class Transport:
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

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
