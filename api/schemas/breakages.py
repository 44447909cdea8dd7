"""Known breakages over HTTP (SPEC §10): what is declared, resolved and listed."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.names import PRINTABLE, PRINTABLE_RULE
from api.schemas.common import (
    PageQuery,
    WholeNumber,
    control_free_string,
    name_field,
    timestamp_field,
)
from api.services.breakages import MAX_ID

MAX_BREAKAGE_JOBS = 1000


def reference_field() -> fields.String:
    """A commit or payload that caused or fixed a breakage: printable, not empty."""
    return fields.String(required=True, validate=[validate.Length(min=1, max=1000),
                                                  validate.Regexp(PRINTABLE,
                                                                  error=PRINTABLE_RULE)])


class BreakageCreateSchema(Schema):
    cause = reference_field()
    jobs = fields.List(name_field(), load_default=list,
                       validate=validate.Length(max=MAX_BREAKAGE_JOBS))
    pattern_id = WholeNumber(load_default=None, allow_none=True,
                             validate=validate.Range(min=1, max=MAX_ID))
    notes = control_free_string(max_length=4000, load_default="")
    started = timestamp_field(load_default=None, allow_none=True)


class BreakageResolveSchema(Schema):
    resolution = reference_field()
    resolved = timestamp_field(load_default=None, allow_none=True)


class BreakageQuery(PageQuery):
    ongoing = fields.Boolean(load_default=None)
    job = name_field(load_default=None)


class BreakageSchema(Schema):
    id = fields.Integer()
    cause = fields.String()
    jobs = fields.List(fields.String())
    pattern_id = fields.Integer(allow_none=True)
    notes = fields.String()
    started = fields.DateTime()
    ongoing = fields.Boolean()
    resolved = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    created_by = fields.String()
    resolved_by = fields.String(allow_none=True)
