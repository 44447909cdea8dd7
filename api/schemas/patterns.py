"""Schemas of ``/patterns`` and ``/scans`` (SPEC section 10)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import PageQuery, WholeNumber, control_free_string

_SYNTAX = validate.OneOf(("literal", "regex"))
_LABEL = control_free_string(max_length=128)
# Bounds that keep one pattern a readable, reviewable thing (the engine bounds the expression).
MAX_TAGS, MAX_STEPS = 32, 64


class PatternFieldsSchema(Schema):
    """The versioned fields; an edit (PATCH) gives any of them, a create at least the
    expression."""

    # The engine's validate() bounds its length and refuses what it cannot run (422 + reason).
    expression = fields.String(validate=validate.Length(min=1, max=10_000))
    syntax = fields.String(validate=_SYNTAX)
    tags = fields.List(_LABEL, validate=validate.Length(max=MAX_TAGS))
    steps = fields.List(_LABEL, validate=validate.Length(max=MAX_STEPS))
    specificity = WholeNumber(validate=validate.Range(min=-1_000_000, max=1_000_000))
    lines_from_end = WholeNumber(allow_none=True, validate=validate.Range(min=1, max=10_000_000))
    description = control_free_string(max_length=4096)
    reason = control_free_string(max_length=1000, load_default="")


class PatternCreateSchema(PatternFieldsSchema):
    expression = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class PatternEditSchema(PatternFieldsSchema):
    promoted = fields.Boolean()


class RetireSchema(Schema):
    reason = control_free_string(max_length=1000, load_default="")


class PatternListQuery(PageQuery):
    include_retired = fields.Boolean(load_default=False)
    tag = control_free_string(max_length=128, load_default=None)


class PatternGetQuery(Schema):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**62))


class StatsQuery(Schema):
    since = fields.String(load_default="30d", validate=validate.Length(min=1, max=64))
    job = fields.String(load_default=None, validate=validate.Length(min=1, max=1024))
    tag = control_free_string(max_length=128, load_default=None)


class ScanCreateSchema(Schema):
    since = fields.String(load_default=None, allow_none=True,
                          validate=validate.Length(min=1, max=64))
    job = fields.String(load_default=None, allow_none=True,
                        validate=validate.Length(min=1, max=1024))


class PatternSchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    expression = fields.String()
    syntax = fields.Function(lambda p: p.syntax.value)
    tags = fields.List(fields.String())
    steps = fields.List(fields.String())
    specificity = fields.Integer()
    lines_from_end = fields.Integer(allow_none=True)
    description = fields.String()
    author = fields.String()
    created = fields.DateTime(allow_none=True)
    retired = fields.DateTime(allow_none=True)
    promoted = fields.Boolean()


class PatternAuditSchema(Schema):
    action = fields.String()
    actor = fields.String()
    reason = fields.String()
    version = fields.Integer()
    at = fields.DateTime()


class ScanSchema(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda s: s.kind.value)
    state = fields.Function(lambda s: s.state.value)
    pattern_id = fields.Integer(allow_none=True)
    pattern_version = fields.Integer(allow_none=True)
    job = fields.String(allow_none=True)
    since = fields.DateTime(allow_none=True)
    logs_scanned = fields.Integer()
    matches = fields.Integer()
    error = fields.String(allow_none=True)
    actor = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
