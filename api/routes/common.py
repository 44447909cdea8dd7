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
# No field of the API nests deeper than a few levels; deeper bodies are refused before the
# parser's recursion can fail (a 10,000-deep array in ``settings`` was a 500).
MAX_JSON_DEPTH = 32
_OPENERS = re.compile(rb"[\[{]")
_BRACKETS = re.compile(rb"[\[\]{}]")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
# No integer of the API has more digits; longer ones are refused by us rather than by the
# interpreter's conversion limit, whose message names interpreter internals.
MAX_INT_DIGITS = 40


class _TooManyDigits(ValueError):
    pass


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooManyDigits(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body is ``{}`` so ``PUT`` with no fields works."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, f"expected Content-Type: application/json, got {mimetype or 'none'!r}")
    _refuse_deep_nesting(raw)
    try:
        body = json.loads(raw, parse_int=_bounded_int)
    except _TooManyDigits as err:
        raise ApiError(400, f"the body is refused: {err}", code="invalid_json") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)
        raise ApiError(400, f"the body is not valid JSON: {reason}",
                       code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", code="invalid_json")
    if LONE_SURROGATE_ESCAPE.search(raw):
        _refuse_lone_surrogates(body)
    return body


def _refuse_deep_nesting(raw: bytes) -> None:
    """Refuse arrays/objects nested deeper than MAX_JSON_DEPTH (brackets inside strings do not
    count); only bodies with that many brackets at all are scanned."""
    if len(_OPENERS.findall(raw)) <= MAX_JSON_DEPTH:
        return
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b"", raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ApiError(400, f"the body nests arrays or objects deeper than "
                                    f"{MAX_JSON_DEPTH} levels", code="invalid_json")
        else:
            depth -= 1


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
