"""Prow's job-history pages (``/job-history/gs/BUCKET/logs/JOB``), both generations.

* Current deck embeds ``var allBuilds = [...];``: objects with ``ID``, ``Started`` (RFC 3339),
  ``Duration`` (ns), ``Result``, ``SpyglassLink`` and ``Refs``; 20 builds a page.
* Pages before mid-2021 render rows ``<tr id="build-N" class="run-success">`` with a link
  to the build's spyglass view.

Older builds are on ``?buildId=N`` (builds with id <= N): we ask for one below the oldest id
seen, and stop at an empty page, a page with nothing older (a loop guard), or the limit.
The builds themselves are then read from the bucket like any other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import requests

from api.crawl.prow import BuildRef, parse_build_path
from api.crawl.retry import TRANSIENT_STATUSES, RateLimiter, RetryPolicy, TransientError

_ALL_BUILDS = re.compile(r"var\s+allBuilds\s*=\s*(\[.*?\])\s*;\s*$", re.S | re.M)
_ROW = re.compile(r"<tr\b[^>]*\bid=[\"']build-(\d+)[\"'][^>]*>(.*?)</tr>", re.S | re.I)
_ROW_CLASS = re.compile(r"\bclass=[\"']run-([a-z]+)", re.I)
_VIEW_LINK = re.compile(r"href=[\"'](?:https?://[^/\"']+)?(/view/gc?s/[^\"'?#]+)", re.I)
MAX_PAGES = 10_000
PAGE_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class HistoryBuild:
    id: str
    result: str | None
    view_path: str | None  # /view/gs/BUCKET/PATH when the page gave one


class HistoryPageError(ValueError):
    """The page is neither format we know."""


def parse_page(html: str) -> list[HistoryBuild]:
    """The builds listed on one job-history page, in page order."""
    match = _ALL_BUILDS.search(html)
    if match:
        try:
            items = json.loads(match.group(1))
        except ValueError as err:
            raise HistoryPageError(f"allBuilds is not valid JSON: {err}") from None
        builds = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not str(item.get("ID") or "").isdigit():
                continue
            link = item.get("SpyglassLink")
            builds.append(HistoryBuild(str(item["ID"]), item.get("Result") or None,
                                       link if isinstance(link, str) and link else None))
        return builds
    rows = _ROW.findall(html)
    if rows or "job-history" in html.lower() or "<table" in html.lower():
        builds = []
        for build_id, body in rows:
            tag = re.search(rf"<tr\b[^>]*build-{build_id}[^>]*>", html)
            cls = _ROW_CLASS.search(tag.group(0)) if tag else None
            link = _VIEW_LINK.search(body)
            builds.append(HistoryBuild(build_id, cls.group(1).upper() if cls else None,
                                       link.group(1) if link else None))
        return builds
    raise HistoryPageError("neither 'var allBuilds' nor build rows found")


def job_history_target(url: str) -> tuple[str, str]:
    """``.../job-history/gs/BUCKET/PREFIX`` (or ``/gcs/``) -> (bucket, prefix)."""
    path = unquote(urlsplit(url).path)
    match = re.search(r"/job-history/gc?s/([^/]+)/(.+?)/?$", path)
    if not match:
        raise ValueError(f"not a job-history URL: {url!r} (expected "
                         ".../job-history/gs/BUCKET/logs/JOB)")
    return match.group(1), match.group(2)


def ref_of(build: HistoryBuild, bucket: str, prefix: str) -> BuildRef | None:
    if build.view_path:
        match = re.match(r"/view/gc?s/([^/]+)/(.+?)/?$", build.view_path)
        if match:
            ref = parse_build_path(match.group(1), match.group(2))
            if ref is not None:
                return ref
    return parse_build_path(bucket, f"{prefix.strip('/')}/{build.id}")


def with_build_id(url: str, build_id: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "buildId"]
    query.append(("buildId", str(build_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))


class HistoryReader:
    def __init__(self, *, retry: RetryPolicy | None = None,
                 limiter: RateLimiter | None = None,
                 get: Callable[..., requests.Response] | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter(2)
        self._session = requests.Session()
        self._get = get or self._session.get

    def fetch(self, url: str) -> str:
        def attempt() -> str:
            self.limiter.acquire()
            response = self._get(url, timeout=PAGE_TIMEOUT)
            if response.status_code in TRANSIENT_STATUSES:
                raise TransientError(f"GET {url}: {response.status_code}")
            response.raise_for_status()
            return response.text

        return self.retry.call(attempt, what=f"GET {url}")

    def builds(self, job_url: str, *, limit: int | None = None) -> list[BuildRef]:
        """Build references from the page and its older pages, newest first."""
        bucket, prefix = job_history_target(job_url)
        refs: dict[str, BuildRef] = {}
        url = job_url
        oldest: int | None = None
        for _ in range(MAX_PAGES):
            page = parse_page(self.fetch(url))
            ids = [int(b.id) for b in page]
            fresh = [b for b in page if oldest is None or int(b.id) < oldest]
            if not fresh:
                break
            for build in fresh:
                ref = ref_of(build, bucket, prefix)
                if ref is not None:
                    refs.setdefault(ref.location, ref)
            if limit is not None and len(refs) >= limit:
                break
            oldest = min(ids)
            url = with_build_id(job_url, oldest - 1)
        ordered = sorted(refs.values(), key=lambda r: (-int(r.build_id), r.path))
        return ordered[:limit] if limit is not None else ordered

    def close(self) -> None:
        self._session.close()
