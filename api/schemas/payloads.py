from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import WholeNumber, name_field, timestamp_field


class PayloadPutSchema(Schema):
    expected = fields.Dict(
        keys=name_field(),
        values=WholeNumber(validate=validate.Range(min=1, max=1000)),
        load_default=dict,
    )
    deadline = timestamp_field(load_default=None, allow_none=True)


class PayloadSchema(Schema):
    id = fields.String()
    expected = fields.Dict()
    deadline = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
