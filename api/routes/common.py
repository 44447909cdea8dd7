"""Request helpers shared by the blueprints: the JSON body and page arguments."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, request
from marshmallow import Schema, ValidationError

from api.errors import ApiError

# A \uD800-\uDFFF escape: the only way JSON text can carry a lone surrogate, which no UTF-8
# store can hold. Checked only when such an escape occurs, so ordinary bodies pay nothing.
LONE_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body is ``{}`` so ``PUT`` with no fields works."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, f"expected Content-Type: application/json, got {mimetype or 'none'!r}")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, f"the body is not valid JSON: {err}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", code="invalid_json")
    if LONE_SURROGATE_ESCAPE.search(raw):
        _refuse_lone_surrogates(body)
    return body


def _refuse_lone_surrogates(body: dict[str, Any]) -> None:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "the body contains a lone UTF-16 surrogate escape, which is not "
                            "text (RFC 8259, section 8.2)", code="invalid_json") from None


def load_body(schema: Schema) -> dict[str, Any]:
    return schema.load(json_body())


def load_query(schema: Schema) -> dict[str, Any]:
    # Repeated query parameters are refused rather than silently picking one of them.
    args: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        if len(values) > 1:
            raise ValidationError({key: ["give this parameter at most once"]})
        args[key] = values[0]
    return schema.load(args)


def page_limit(query: dict[str, Any]) -> int:
    limit = query.get("limit") or current_app.config["PAGE_LIMIT_DEFAULT"]
    ceiling = current_app.config["PAGE_LIMIT_MAX"]
    if limit > ceiling:
        raise ValidationError({"limit": [f"must be at most {ceiling}"]})
    return limit
