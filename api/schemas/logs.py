"""Schemas of build logs (issue 13): a stored log's description and the ``lines`` query."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields

_RANGE = re.compile(r"^([0-9]{1,12})(?:-([0-9]{1,12}))?$")


class LogInfoSchema(Schema):
    job = fields.String()
    run_id = fields.String()
    step = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    lines = fields.Integer()
    truncated = fields.Boolean()
    received_bytes = fields.Integer(attribute="meta.received_bytes")
    omitted_bytes = fields.Integer(attribute="meta.omitted_bytes")
    omitted_lines = fields.Integer(attribute="meta.omitted_lines")
    cut_lines = fields.Integer(attribute="meta.cut_lines")
    source = fields.String(attribute="meta.source")
    stored_at = fields.DateTime()


class LogPutResultSchema(LogInfoSchema):
    outcome = fields.String()


def line_range(raw: str | None) -> tuple[int, int] | None:
    """``?lines=A-B`` (or ``A``) as 1-based inclusive bounds; ``None`` when absent."""
    if raw is None:
        return None
    match = _RANGE.match(raw)
    if match is None:
        raise ValidationError({"lines": ["must be A-B or A: 1-based line numbers, A <= B"]})
    first = int(match[1])
    last = int(match[2]) if match[2] is not None else first
    if first < 1 or last < first:
        raise ValidationError({"lines": ["must be A-B or A: 1-based line numbers, A <= B"]})
    return first, last


def dump_info(info: Any, **extra: Any) -> dict[str, Any]:
    return {**LogInfoSchema().dump(info), **extra}
