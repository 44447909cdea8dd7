"""GitHub's REST contract (the OpenAPI 3.0 subset in ../shared/fixtures/github) as a checker:
which operation a request is, and what is wrong with a request or an answer. Used by the
GitHub double (tests/github_double.py) to validate every call flakegate makes and every answer
the double gives."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator

from tests.fixtures import shared_fixtures

METHODS = ("get", "post", "put", "patch", "delete")

# GitHub documents it ("Download an artifact", actions/download-artifact) but the subset in
# ../shared/fixtures/github left it out; artifact downloads go there, so the double knows it with
# the contract GitHub publishes for it: path parameters only, a 302 to the signed storage URL.
EXTRA_PATHS: dict[str, Any] = {
    "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}": {"get": {
        "operationId": "actions/download-artifact",
        "parameters": [
            {"$ref": "#/components/parameters/owner"},
            {"$ref": "#/components/parameters/repo"},
            {"$ref": "#/components/parameters/artifact-id"},
            {"name": "archive_format", "in": "path", "required": True,
             "schema": {"type": "string", "enum": ["zip"]}},
        ],
        "responses": {"302": {"description": "Response"},
                      "410": {"$ref": "#/components/responses/gone"}},
    }},
}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    spec: dict[str, Any]
    pattern: re.Pattern[str]


@cache
def rest_spec() -> dict[str, Any]:
    spec = json.loads(shared_fixtures("github", "github-rest-subset.json").read_text())
    params = spec["components"]["parameters"]
    params.setdefault("artifact-id", {"name": "artifact_id", "in": "path", "required": True,
                                      "schema": {"type": "integer"}})
    spec["paths"].update(copy.deepcopy(EXTRA_PATHS))
    return spec


def example(name: str) -> Any:
    """A deep copy of one of GitHub's examples (components/examples) to build answers from."""
    return copy.deepcopy(rest_spec()["components"]["examples"][name]["value"])


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = rest_spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _with_components(schema: dict[str, Any]) -> dict[str, Any]:
    # "#/components/..." references resolve against the root of the schema validated.
    return {**schema, "components": rest_spec()["components"]}


def _errors(validator: type, schema: dict[str, Any], value: Any) -> list[str]:
    checker = validator(_with_components(schema))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
            for e in checker.iter_errors(value)]


@cache
def operations() -> tuple[Operation, ...]:
    found = []
    for template, item in rest_spec()["paths"].items():
        regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
        for method in METHODS:
            if method in item:
                op = item[method]
                found.append(Operation(method.upper(), template, op["operationId"], op,
                                       re.compile(f"^{regex}$")))
    # A literal segment beats a parameter ("/issues/comments/1" is not issue "comments").
    found.sort(key=lambda op: op.template.count("{"))
    return tuple(found)


def match(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    for op in operations():
        hit = op.pattern.match(path)
        if op.method == method and hit:
            return op, hit.groupdict()
    return None


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def request_errors(op: Operation, path_params: dict[str, str], query: dict[str, list[str]],
                   body: bytes, content_type: str) -> list[str]:
    """Everything about this request that GitHub's description does not allow."""
    errors: list[str] = []
    declared = {}
    for raw in op.spec.get("parameters", []):
        param = _resolve(raw)
        declared[(param["in"], param["name"])] = param
    for (where, name), param in declared.items():
        if where == "path":
            value = path_params.get(name)
        elif where == "query":
            values = query.get(name)
            if values is None:
                if param.get("required"):
                    errors.append(f"missing required query parameter {name}")
                continue
            if len(values) > 1:
                errors.append(f"query parameter {name} given {len(values)} times")
            value = values[0]
        else:
            continue  # headers: GitHub's descriptions declare none the double needs
        schema = param.get("schema", {})
        errors += [f"{where} parameter {name}: {e}"
                   for e in _errors(OAS30WriteValidator, schema, _coerce(str(value), schema))]
    for name in query:
        if ("query", name) not in declared:
            errors.append(f"undeclared query parameter {name}")
    described = op.spec.get("requestBody")
    if described is None:
        if body:
            errors.append(f"a body ({len(body)} bytes) where none is described")
        return errors
    described = _resolve(described)
    if not body:
        if described.get("required"):
            errors.append("missing required request body")
        return errors
    if not content_type.startswith("application/json"):
        errors.append(f"request body of type {content_type!r}, not application/json")
        return errors
    try:
        value = json.loads(body)
    except ValueError:
        return [*errors, "request body is not JSON"]
    schema = described["content"]["application/json"]["schema"]
    return errors + [f"body {e}" for e in _errors(OAS30WriteValidator, schema, value)]


def response_errors(op: Operation, status: int, body: Any, *, injected: bool = False) -> list[str]:
    """What is wrong with answering ``status`` and ``body`` (decoded JSON or None) to ``op``.
    An injected fault (a rate limit) may use a status the operation does not list, but its body
    must still be GitHub's error shape."""
    described = op.spec["responses"].get(str(status))
    if described is None:
        if not injected:
            return [f"status {status} is not described for {op.operation_id}"]
        described = _resolve({"$ref": "#/components/responses/forbidden"})
    described = _resolve(described)
    content = described.get("content", {}).get("application/json")
    if content is None:
        return [] if body is None else [f"a body where status {status} describes none"]
    return [f"answer {e}" for e in _errors(OAS30ReadValidator, content["schema"], body)]
