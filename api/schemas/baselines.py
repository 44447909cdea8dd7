from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import PageQuery, WholeNumber, name_field, test_name_field


class BaselineComputeSchema(Schema):
    window_days = WholeNumber(load_default=None, allow_none=True,
                                 validate=validate.Range(min=1, max=3650))
    max_runs = WholeNumber(load_default=None, allow_none=True,
                              validate=validate.Range(min=1, max=100_000))
    exclude_payload = name_field(load_default=None, allow_none=True)


class BaselineQuery(PageQuery):
    # Versions are store integers: a larger number names no version (and overflowed SQLite).
    version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))


class TestKeySchema(Schema):
    # Every name the store can hold, cut ones included, can be loosened.
    suite = test_name_field(min_length=0, load_default="")
    name = test_name_field(required=True)


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
