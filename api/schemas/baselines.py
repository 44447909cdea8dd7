from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import (
    NAME_MAX,
    NAME_PATTERN,
    NAME_RULE,
    PageQuery,
    name_field,
)


class BaselineComputeSchema(Schema):
    window_days = fields.Integer(load_default=None, allow_none=True,
                                 validate=validate.Range(min=1, max=3650))
    max_runs = fields.Integer(load_default=None, allow_none=True,
                              validate=validate.Range(min=1, max=100_000))
    exclude_payload = name_field(load_default=None, allow_none=True)


class BaselineQuery(PageQuery):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1))


class TestKeySchema(Schema):
    suite = fields.String(load_default="", validate=[
        validate.Length(max=NAME_MAX), validate.Regexp(NAME_PATTERN, error=NAME_RULE)])
    name = name_field(required=True)


class LoosenSchema(Schema):
    tests = fields.List(fields.Nested(TestKeySchema), required=True,
                        validate=validate.Length(min=1, max=10_000))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class PriorSchema(Schema):
    alpha = fields.Float()
    beta = fields.Float()
    components = fields.List(fields.List(fields.Float()))


class BaselineVersionSchema(Schema):
    job = fields.String()
    version = fields.Integer()
    created_at = fields.DateTime()
    runs = fields.Integer()
    tests = fields.Integer()
    window_days = fields.Integer()
    max_runs = fields.Integer()
    exclude_payload = fields.String(allow_none=True)
    latch = fields.Boolean()
    prior = fields.Nested(PriorSchema)
    note = fields.String(allow_none=True)


class TestBaselineSchema(Schema):
    suite = fields.String()
    name = fields.String()
    runs = fields.Integer()
    passes = fields.Integer()
    failures = fields.Integer()
    flakes = fields.Integer()
    pass_rate = fields.Float()
    stddev = fields.Float()
    latched = fields.Boolean()
    observed_pass_rate = fields.Float(allow_none=True)


class AuditEntrySchema(Schema):
    at = fields.DateTime()
    job = fields.String()
    action = fields.String()
    actor = fields.String()
    reason = fields.String()
    version = fields.Integer()
    tests = fields.Function(lambda entry: [{"suite": s, "name": n} for s, n in entry.tests])
    field = fields.String(allow_none=True)
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)
