"""Field types and query schemas shared by several resources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api.names import (
    NAME_MAX,
    NAME_MAX_BYTES,
    PLAIN,
    PLAIN_RULE,
    PRINTABLE,
    PRINTABLE_RULE,
    TEST_NAME_MAX,
    cut_test_name,
    name_problem,
)


class _NameBytes(validate.Validator):
    """At most ``NAME_MAX_BYTES`` in UTF-8: names travel percent-encoded in request lines."""

    def __call__(self, value: str) -> str:
        if len(value.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES:
            raise ValidationError(f"must be at most {NAME_MAX_BYTES} bytes in UTF-8")
        return value


def name_field(**kwargs: Any) -> fields.String:
    """A job, run or payload name: the rule of :func:`api.names.name_problem`."""
    return fields.String(
        validate=[validate.Length(min=1, max=NAME_MAX),
                  validate.Regexp(PLAIN, error=PLAIN_RULE), _NameBytes()],
        **kwargs,
    )


def test_name_field(*, min_length: int = 1, **kwargs: Any) -> fields.String:
    """A test or suite name as endpoints address it: printable, at most ``TEST_NAME_MAX``
    characters, so that every name the store holds (cut ones included) can be named."""
    return fields.String(
        validate=[validate.Length(min=min_length, max=TEST_NAME_MAX),
                  validate.Regexp(PRINTABLE, error=PRINTABLE_RULE)],
        **kwargs,
    )


class CutTestName(fields.String):
    """A test or suite name received with results: printable; a longer one is cut by
    :func:`api.names.cut_test_name` rather than refused, so a run is never lost for a name."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not PRINTABLE.match(text):
            raise ValidationError(PRINTABLE_RULE)
        return cut_test_name(text)[0]


class WholeNumber(fields.Integer):
    """A JSON integer: ``5`` and ``5.0`` (JSON Schema's ``integer``) are 5, ``5.5`` is refused
    rather than truncated, and so is a string."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float) and not value.is_integer():
            raise ValidationError("must be a whole number")
        return super()._validated(value)


def control_free_string(*, max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(max=max_length),
                                   validate.Regexp(PRINTABLE, error=PRINTABLE_RULE)], **kwargs)


class _Timestamp(fields.AwareDateTime):
    """An aware timestamp, normalised to UTC; one that UTC cannot represent (year 9999 at
    -14:00, year 1 at +14:00) is refused rather than overflowing later."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("is outside the representable range of UTC times") from None


def timestamp_field(**kwargs: Any) -> fields.AwareDateTime:
    # Naive timestamps are read as UTC: CI systems that omit the offset almost always mean it.
    return _Timestamp(default_timezone=UTC, **kwargs)


def string_map(**kwargs: Any) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=256)),
        values=control_free_string(max_length=4096),
        **kwargs,
    )


def check_path_names(**names: str) -> None:
    """Path segments name things too: hold them to the same rule as names in bodies."""
    problems: dict[str, list[str]] = {}
    for field, value in names.items():
        problem = name_problem(value)
        if problem is not None:
            problems[field] = [problem]
    if problems:
        raise ValidationError(problems)


class PageQuery(Schema):
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1))
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=1024))


def page_dump(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


class DeleteQuery(Schema):
    """An admin deletion's optional ``reason``, kept in the audit log."""

    reason = control_free_string(max_length=1000, load_default="")
