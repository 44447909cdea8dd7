from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import WholeNumber, string_map

POLICIES = ("bayes", "aggregator", "stddev")


class JobPutSchema(Schema):
    variant = string_map(load_default=None, allow_none=True)
    policy = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(POLICIES))
    expected_runs = WholeNumber(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=1000)
    )
    settings = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=256)),
                           load_default=None, allow_none=True)


class JobSchema(Schema):
    name = fields.String()
    variant = fields.Dict()
    policy = fields.String(allow_none=True)
    expected_runs = fields.Integer(allow_none=True)
    settings = fields.Dict()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
