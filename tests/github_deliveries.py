"""Signed GitHub webhook deliveries for tests, built from GitHub's webhook descriptions
(../shared/fixtures/github/github-webhooks-subset.json, OpenAPI 3.1): the example GitHub ships
where there is one, otherwise the smallest payload the event's schema allows, then the test's
overrides (deep-merged). Every payload built is validated against the event's schema, so a test
never feeds the server a delivery GitHub could not send."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from tests.fixtures import shared_fixtures

_STRING_FORMATS = {"date-time": "2026-12-01T12:00:00Z", "uri": "https://github.com/octo/repo",
                   "email": "octo@example.com", "uri-template": "https://github.com/{x}"}


@cache
def webhook_spec() -> dict[str, Any]:
    return json.loads(shared_fixtures("github", "github-webhooks-subset.json").read_text())


def _resolve(schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        target: Any = webhook_spec()
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": webhook_spec()["components"]})


def schema_errors(webhook: str, payload: Any) -> list[str]:
    """What GitHub's schema for ``webhook`` (e.g. "workflow-job-completed") finds wrong."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
            for e in _validator(_body_schema(webhook)).iter_errors(payload)]


def _operation(webhook: str) -> dict[str, Any]:
    return dict(webhook_spec()["webhooks"][webhook]["post"])


def _body_schema(webhook: str) -> dict[str, Any]:
    return dict(_operation(webhook)["requestBody"]["content"]["application/json"]["schema"])


def minimal(schema: Any, depth: int = 0) -> Any:
    """The smallest value ``schema`` accepts: required properties only, first enum value, first
    non-null type, first alternative of anyOf/oneOf that validates."""
    schema = _resolve(schema)
    if depth > 40:
        raise ValueError("schema nests deeper than any webhook payload")
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    if "allOf" in schema:
        merged: Any = {}
        for part in schema["allOf"]:
            merged = _merge(merged, minimal(part, depth + 1))
        return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [minimal(option, depth + 1) for option in schema[key]]
            return next((value for value in options
                         if not list(_validator(dict(schema)).iter_errors(value))), options[0])
    kinds = schema.get("type", "object")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    kind = next((k for k in kinds if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: minimal(props.get(name, {}), depth + 1)
                for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(schema.get("items", {}), depth + 1)
                for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return _STRING_FORMATS.get(schema.get("format", ""), "x")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    return False if kind == "boolean" else None


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return copy.deepcopy(override)


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    event: str  # X-GitHub-Event, e.g. "workflow_job"
    delivery_id: str
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]


def shipped_example(webhook: str) -> dict[str, Any] | None:
    """A copy of the first example GitHub ships for ``webhook``, if any."""
    content = _operation(webhook)["requestBody"]["content"]["application/json"]
    examples = content.get("examples") or {}
    if not examples:
        return None
    return dict(copy.deepcopy(_resolve(next(iter(examples.values())))["value"]))


def build_delivery(webhook: str, *, secret: str, overrides: Mapping[str, Any] | None = None,
                   delivery_id: str | None = None) -> Delivery:
    """A signed delivery of ``webhook`` (a key of the description's ``webhooks``, e.g.
    "workflow-job-completed", "workflow-run-completed", "ping")."""
    payload = shipped_example(webhook)
    if payload is None:
        payload = minimal(_body_schema(webhook))
    payload = _merge(payload, overrides or {})
    errors = schema_errors(webhook, payload)
    if errors:
        raise ValueError(f"{webhook} delivery does not match GitHub's schema: {errors[:5]}")
    event = _operation(webhook)["operationId"].split("/")[0].replace("-", "_")
    body = json.dumps(payload).encode()
    delivery_id = delivery_id or str(uuid.uuid4())
    headers = {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/flakegate",
               "X-GitHub-Event": event, "X-GitHub-Delivery": delivery_id,
               "X-GitHub-Hook-ID": "1", "X-GitHub-Hook-Installation-Target-Type": "repository",
               "X-GitHub-Hook-Installation-Target-ID": "1",
               "X-Hub-Signature-256": sign(body, secret)}
    return Delivery(event, delivery_id, payload, body, headers)


def workflow_job_completed(*, secret: str, repository: str, run_id: int, job_id: int,
                           name: str, workflow_name: str, head_sha: str,
                           conclusion: str = "success", run_attempt: int = 1,
                           extra: Mapping[str, Any] | None = None) -> Delivery:
    """A ``workflow_job`` ``completed`` delivery for one job of a workflow run."""
    owner, repo = repository.split("/")
    job = {"id": job_id, "run_id": run_id, "run_attempt": run_attempt, "name": name,
           "workflow_name": workflow_name, "head_sha": head_sha, "status": "completed",
           "conclusion": conclusion,
           "html_url": f"https://github.com/{repository}/actions/runs/{run_id}/job/{job_id}",
           "run_url": f"https://api.github.com/repos/{repository}/actions/runs/{run_id}"}
    overrides = {"workflow_job": job, "repository": {"full_name": repository, "name": repo,
                                                      "owner": {"login": owner}}}
    return build_delivery("workflow-job-completed", secret=secret,
                          overrides=_merge(overrides, extra or {}))


def workflow_run_completed(*, secret: str, repository: str, run_id: int, name: str,
                           head_sha: str, conclusion: str = "success", run_attempt: int = 1,
                           extra: Mapping[str, Any] | None = None) -> Delivery:
    """A ``workflow_run`` ``completed`` delivery."""
    owner, repo = repository.split("/")
    run = {"id": run_id, "name": name, "head_sha": head_sha, "run_attempt": run_attempt,
           "status": "completed", "conclusion": conclusion,
           "html_url": f"https://github.com/{repository}/actions/runs/{run_id}"}
    overrides = {"workflow_run": run, "repository": {"full_name": repository, "name": repo,
                                                      "owner": {"login": owner}}}
    return build_delivery("workflow-run-completed", secret=secret,
                          overrides=_merge(overrides, extra or {}))
