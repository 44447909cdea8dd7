from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import control_free_string, timestamp_field


class TokenCreateSchema(Schema):
    scope = fields.String(required=True, validate=validate.OneOf(("read", "write", "admin")))
    label = control_free_string(max_length=256, load_default="")
    expires_in = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(min=1, max=64))
    expires_at = timestamp_field(load_default=None, allow_none=True)


class TokenSchema(Schema):
    """A token without its secret (or its hash): ``id`` is safe to show and to revoke by."""

    id = fields.String()
    label = fields.String()
    scope = fields.Function(lambda token: token.scope.value)
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)
