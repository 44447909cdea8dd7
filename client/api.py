"""The flakegate REST client: one method per resource, on top of :mod:`client.transport`.

Calls that are not idempotent (``compute_baseline``: each call stores a new baseline version)
are sent once; everything else is retried as :class:`~client.transport.Transport` describes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, overload

from client import errors
from client.models import AttachedFile, Job, Payload, Run, UploadResult, Verdict
from client.transport import (  # noqa: F401  (re-exported: callers import them from here)
    DEFAULT_TIMEOUT,
    DEFAULT_UPLOAD_TIMEOUT,
    Timeout,
    Transport,
    package_version,
    segment,
)
from client.upload import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_FILES, FileSource, batches

DEFAULT_PAGE_SIZE = 500

ProgressCallback = Callable[[int, int], None]  # (files sent so far, bytes sent so far)
PollCallback = Callable[[Verdict | None, float], None]  # (latest verdict or None, seconds waited)


class Client(Transport):
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
                     on_progress: ProgressCallback | None = None,
                     artifacts: bool = False) -> UploadResult:
        """Attach JUnit files (paths, or ``(name, content)`` pairs) to an existing run: each
        gzip-compressed, several per multipart request, requests kept under ``max_bytes``.
        A path is recorded relative to ``root`` (default: the working directory).

        Re-sending is safe (the server skips content it already has), so a failed batch is
        retried like any idempotent call, and re-running a whole upload is harmless.
        ``artifacts`` sends them to ``/artifacts`` instead, which also takes disruption
        measurement files (SPEC §9) and writes each request's files in one step.
        """
        path = _run_path(job, run_id) + ("/artifacts" if artifacts else "/junit")
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

    # -- disruption and alert baselines (SPEC §9) ------------------------------------------

    def compute_disruption_baselines(self, kind: str, *, window_days: int | None = None,
                                     note: str | None = None) -> dict[str, Any]:
        """Store the next disruption/alert baseline version (admin); never re-sent."""
        body = _without_none({"kind": kind, "window_days": window_days, "note": note})
        return self._call("POST", "/disruption/baselines", json=body, idempotent=False)

    def disruption_baselines_origin(self, kind: str, *, version: int | None = None) -> str:
        """A whole baseline version as origin's query_results.json text, exactly as sent."""
        response = self._send("GET", "/disruption/baselines", idempotent=True,
                              params=_without_none({"kind": kind, "version": version,
                                                    "format": "origin"}))
        response.encoding = "utf-8"
        return response.text

    def disruption_baseline_rows(self, kind: str, *, version: int | None = None,
                                 filters: Mapping[str, str] | None = None,
                                 page_size: int = DEFAULT_PAGE_SIZE
                                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A baseline version's summary and its rows (every page; ``filters`` as the API's)."""
        summary: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        params = {"kind": kind, **_without_none({"version": version}), **(filters or {})}
        for body in self._page_bodies("/disruption/baselines", params, page_size):
            summary = body.get("baseline") or summary
            # Later pages come from the version the first page named, even if a new one lands.
            params["version"] = summary.get("version", version)
            rows.extend(body["items"])
        return summary, rows

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

    # -- build logs (issue 13) --

    def put_log(self, job: str, run_id: str, step: str, gzipped: bytes) -> dict[str, Any]:
        """Store the gzip-compressed log of one step of an existing run; the server's answer
        (``outcome``, ``lines``, ``truncated``, ...). Re-sending is a no-op, hence retried."""
        return self._call("PUT", f"{_run_path(job, run_id)}/logs/{segment(step)}",
                          data=gzipped, idempotent=True, timeout=self.upload_timeout,
                          headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"})

    # -- GitHub (issue 14) --

    def get_github_rendering(self, payload: str) -> dict[str, Any]:
        """What the server would publish on GitHub for the payload's verdict (statuses, check
        run, comment), for the action to post with the workflow's token."""
        return self._call("GET", f"/payloads/{segment(payload)}/github")


def _run_path(job: str, run_id: str) -> str:
    return f"/jobs/{segment(job)}/runs/{segment(run_id)}"


def _verdict_path(payload: str) -> str:
    return f"/payloads/{segment(payload)}/verdict"


def _without_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
