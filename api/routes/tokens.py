"""``/tokens``: the admin's view of API tokens (list, mint, revoke); secrets are shown once."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.routes.common import load_body, load_query, page_limit
from api.schemas.common import PageQuery, check_path_names, page_dump
from api.schemas.tokens import TokenCreateSchema, TokenSchema
from api.services import tokens

bp = Blueprint("tokens", __name__)
log = logging.getLogger(__name__)


@bp.get("/tokens")
@require(Scope.ADMIN)
def list_tokens() -> Response:
    query = load_query(PageQuery())
    page = tokens.list_tokens(get_store(), limit=page_limit(query), cursor=query["cursor"])
    return jsonify(page_dump(TokenSchema(many=True).dump(page.items), page.next_cursor))


@bp.post("/tokens")
@require(Scope.ADMIN)
def create_token() -> tuple[Response, int]:
    fields = load_body(TokenCreateSchema())
    expires_at = tokens.expiry(expires_in=fields["expires_in"], expires_at=fields["expires_at"])
    secret, made = tokens.create(get_store(), scope=Scope(fields["scope"]),
                                 label=fields["label"], expires_at=expires_at)
    log.info("token %s (%s) created by %s", made.id, made.scope.value, g.actor)
    return jsonify({**TokenSchema().dump(made), "token": secret}), 201


@bp.delete("/tokens/<seg:token_id>")
@require(Scope.ADMIN)
def revoke_token(token_id: str) -> tuple[str, int]:
    check_path_names(token_id=token_id)
    revoked = tokens.revoke(get_store(), token_id, actor=g.actor)
    log.info("token %s revoked by %s", revoked.id, g.actor)
    return "", 204
