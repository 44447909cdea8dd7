"""Field types and query schemas shared by several resources."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

NAME_MAX = 512
# Printable text: no C0/C1 control characters, and no lone surrogates (which JSON can carry
# but UTF-8, and so the store, cannot). openapi.yaml states the same pattern.
NAME_PATTERN = re.compile("^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]*$")
NAME_RULE = "must be printable text (no control characters or lone surrogates)"


def name_field(**kwargs: Any) -> fields.String:
    """A job, run, payload or test name: 1 to 512 printable characters."""
    return fields.String(
        validate=[validate.Length(min=1, max=NAME_MAX),
                  validate.Regexp(NAME_PATTERN, error=NAME_RULE)],
        **kwargs,
    )


def timestamp_field(**kwargs: Any) -> fields.AwareDateTime:
    # Naive timestamps are read as UTC: CI systems that omit the offset almost always mean it.
    return fields.AwareDateTime(default_timezone=UTC, **kwargs)


def string_map(**kwargs: Any) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=256)),
        values=fields.String(validate=validate.Length(max=4096)),
        **kwargs,
    )


def check_path_names(**names: str) -> None:
    """Path segments name things too: hold them to the same rule as names in bodies."""
    problems: dict[str, list[str]] = {}
    for field, value in names.items():
        if not 1 <= len(value) <= NAME_MAX:
            problems[field] = [f"must be 1 to {NAME_MAX} characters"]
        elif not NAME_PATTERN.match(value):
            problems[field] = [NAME_RULE]
    if problems:
        raise ValidationError(problems)


class PageQuery(Schema):
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1))
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=1024))


def page_dump(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


class DeleteQuery(Schema):
    """An admin deletion's optional ``reason``, kept in the audit log."""

    reason = fields.String(load_default="", validate=[
        validate.Length(max=1000), validate.Regexp(NAME_PATTERN, error=NAME_RULE)])
