"""Validates responses against ``openapi.yaml``: the status must be documented for the
operation, and a JSON body must match the documented schema."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker

from tests.fixtures import ROOT

SPEC_PATH = ROOT / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch")


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in spec()["paths"]:
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        patterns.append((re.compile(f"^{regex}$"), template))
    # Literal paths must win over templated ones (e.g. /openapi.yaml).
    patterns.sort(key=lambda item: item[1].count("{"))
    return patterns


def template_for(raw_path: str) -> str:
    for pattern, template in _templates():
        if pattern.match(raw_path):
            return template
    raise AssertionError(f"{raw_path} matches no path of openapi.yaml")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#/").split("/")
        node = spec()
        for part in pointer:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def check_response(method: str, raw_path: str, status: int, content_type: str,
                   body: bytes) -> None:
    template = template_for(raw_path.split("?", 1)[0])
    operation = spec()["paths"][template].get(method.lower())
    assert operation is not None, f"{method} {template} is not in openapi.yaml"
    responses = operation["responses"]
    assert str(status) in responses, (
        f"{method} {template} answered {status}, which openapi.yaml does not document "
        f"(documented: {sorted(responses)}); body: {body[:500]!r}"
    )
    response = _resolve(responses[str(status)])
    media = content_type.split(";")[0].strip()
    content = response.get("content", {})
    if not content:  # a documented empty response (304): nothing may come with it
        assert not body, f"{method} {template} {status} should have no body"
        return
    assert media in content, f"{method} {template} {status}: {media} not documented"
    if media != "application/json":
        return
    import json

    pointer = _pointer_of(template, method, str(status), responses[str(status)], media)
    validator = Draft202012Validator({**spec(), "$ref": pointer}, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(json.loads(body)), key=lambda e: e.path)
    assert not errors, f"{method} {template} {status} breaks the schema: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )


def _pointer_of(template: str, method: str, status: str, response: dict[str, Any],
                media: str) -> str:
    escaped_media = media.replace("/", "~1")
    if "$ref" in response:
        return f"{response['$ref']}/content/{escaped_media}/schema"
    escaped_path = template.replace("~", "~0").replace("/", "~1")
    return (f"#/paths/{escaped_path}/{method.lower()}/responses/{status}"
            f"/content/{escaped_media}/schema")
