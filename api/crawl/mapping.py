"""One Prow build -> one flakegate run: job, run id, status, times, payload, metadata.

Status comes from ``finished.json``'s ``result`` in either spelling: the sidecar writes
upper-case ``SUCCESS|FAILURE|ABORTED``, crier lower-case ``success|failure|aborted|error``
(Kettle records crier's ``success`` as not passed; here case never matters). Without a
result, ``passed`` decides. A build without ``finished.json`` is unfinished unless its
``prowjob.json`` already has a final state (an aborted pod may never write finished.json).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from api.crawl.prow import BuildFiles

PAYLOAD_ANNOTATION = "release.openshift.io/tag"
METADATA_VALUE_MAX = 4096

_RESULTS = {
    "success": "success", "failure": "failure", "aborted": "aborted", "error": "error",
    "pending": "pending", "triggered": "pending",
}


@dataclass(frozen=True, slots=True)
class PayloadRule:
    """Where a build's payload id comes from, tried in order: a ProwJob annotation, a ProwJob
    label, a key of finished.json's or started.json's ``metadata``."""

    annotations: tuple[str, ...] = (PAYLOAD_ANNOTATION,)
    labels: tuple[str, ...] = ()
    metadata: tuple[str, ...] = ()


@dataclass
class MappedRun:
    job: str
    run_id: str
    finished: bool  # the build is over (status is final)
    fields: dict[str, Any] = field(default_factory=dict)  # as catalog.put_run takes them


def status_of(result: Any, passed: Any = None) -> str | None:
    """A run status from a Prow result in either case, else from ``passed``; ``None`` if
    neither says anything."""
    if isinstance(result, str) and result.strip():
        return _RESULTS.get(result.strip().lower(), "error")
    if isinstance(passed, bool):
        return "success" if passed else "failure"
    return None


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _put(meta: dict[str, str], key: str, value: Any) -> None:
    if value is None or value == "" or value == {} or value == []:
        return
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    meta[key] = text[:METADATA_VALUE_MAX]


def payload_of(files: BuildFiles, rule: PayloadRule) -> str | None:
    prowjob = files.prowjob or {}
    for key in rule.annotations:
        value = _dig(prowjob, "metadata", "annotations", key)
        if isinstance(value, str) and value:
            return value
    for key in rule.labels:
        value = _dig(prowjob, "metadata", "labels", key)
        if isinstance(value, str) and value:
            return value
    for key in rule.metadata:
        for doc in (files.finished, files.started):
            value = _dig(doc, "metadata", key)
            if isinstance(value, str) and value:
                return value
    return None


def map_build(files: BuildFiles, rule: PayloadRule = PayloadRule(),
              view_url: str | None = None) -> MappedRun:
    ref = files.ref
    started, finished, prowjob = files.started or {}, files.finished or {}, files.prowjob or {}
    job = _dig(prowjob, "spec", "job")
    job = job if isinstance(job, str) and job else ref.job
    status = status_of(finished.get("result"), finished.get("passed")) if files.finished \
        is not None else None
    finished_at = _time(finished.get("timestamp"))
    state = _dig(prowjob, "status", "state")
    if status is None and isinstance(state, str) and state.lower() in ("aborted", "error",
                                                                      "success", "failure"):
        status = state.lower()  # the pod ended without writing finished.json
        finished_at = finished_at or _time(_dig(prowjob, "status", "completionTime"))
    if files.finished is not None and status is None:
        status = "error"  # finished.json without any result: the build ended badly
    is_finished = status is not None and status != "pending"
    started_at = _time(started.get("timestamp")) or _time(_dig(prowjob, "status", "startTime"))

    meta: dict[str, str] = {"prow.build": ref.location}
    refs = _dig(prowjob, "spec", "refs") or {}
    _put(meta, "prow.type", _dig(prowjob, "spec", "type"))
    _put(meta, "repo.org", refs.get("org") if isinstance(refs, Mapping) else None)
    _put(meta, "repo.name", refs.get("repo") if isinstance(refs, Mapping) else None)
    _put(meta, "repo.base_ref", refs.get("base_ref") if isinstance(refs, Mapping) else None)
    _put(meta, "repo.base_sha", refs.get("base_sha") if isinstance(refs, Mapping) else None)
    pulls = refs.get("pulls") if isinstance(refs, Mapping) else None
    if isinstance(pulls, list) and pulls:
        _put(meta, "pr.numbers", ",".join(str(p.get("number")) for p in pulls
                                          if isinstance(p, Mapping)))
        _put(meta, "pr.shas", ",".join(str(p.get("sha")) for p in pulls
                                       if isinstance(p, Mapping) and p.get("sha")))
        _put(meta, "pr.authors", ",".join(str(p.get("author")) for p in pulls
                                          if isinstance(p, Mapping) and p.get("author")))
    elif ref.pull:
        _put(meta, "pr.numbers", ref.pull)
    if ref.org_repo:
        _put(meta, "prow.org_repo", ref.org_repo)
    _put(meta, "prow.pull", started.get("pull"))
    _put(meta, "prow.repos", started.get("repos"))
    _put(meta, "prow.repo_version", started.get("repo-version") or started.get("repo-commit")
         or _dig(started, "metadata", "repo-commit"))
    _put(meta, "prow.revision", finished.get("revision") or finished.get("job-version"))
    _put(meta, "prow.result", finished.get("result"))
    if files.notes:
        _put(meta, "crawl.notes", "; ".join(files.notes))

    url = _dig(prowjob, "status", "url")
    if not isinstance(url, str) or not url:
        url = (view_url.format(bucket=ref.bucket, path=ref.path) if view_url
               else ref.location)
    fields: dict[str, Any] = {
        "status": status if is_finished else "pending",
        "payload": payload_of(files, rule),
        "started_at": started_at,
        "finished_at": finished_at if is_finished else None,
        "url": url[:4096],
        "metadata": meta,
    }
    return MappedRun(job=job, run_id=ref.build_id, finished=is_finished, fields=fields)
