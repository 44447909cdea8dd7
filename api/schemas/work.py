"""The background work queue over HTTP (admin): what is queued, done or dead, and why."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import PageQuery
from api.store.work import WorkState


class WorkQuery(PageQuery):
    state = fields.String(load_default=None,
                          validate=validate.OneOf([state.value for state in WorkState]))
    kind = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class WorkItemSchema(Schema):
    """An item without its body (a webhook's whole payload): what an admin needs to see."""

    id = fields.String()
    kind = fields.String()
    key = fields.String()
    state = fields.Function(lambda item: item.state.value)
    attempts = fields.Integer()
    not_before = fields.DateTime()
    holder = fields.String(allow_none=True)
    lease_until = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
