"""``/breakages``: known breakages (SPEC §10); declaring and resolving them is admin-only."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.errors import ApiError
from api.routes.common import load_body, load_query, page_limit
from api.schemas.breakages import (
    BreakageCreateSchema,
    BreakageQuery,
    BreakageResolveSchema,
    BreakageSchema,
)
from api.schemas.common import page_dump
from api.services import breakages

bp = Blueprint("breakages", __name__)
log = logging.getLogger(__name__)


@bp.get("/breakages")
@require(Scope.READ)
def list_breakages() -> Response:
    query = load_query(BreakageQuery())
    page = breakages.list_breakages(get_store(), ongoing=query["ongoing"], job=query["job"],
                                    limit=page_limit(query), cursor=query["cursor"])
    return jsonify(page_dump(BreakageSchema(many=True).dump(page.items), page.next_cursor))


@bp.post("/breakages")
@require(Scope.ADMIN)
def declare_breakage() -> tuple[Response, int]:
    fields = load_body(BreakageCreateSchema())
    made = breakages.declare(get_store(), actor=g.actor, **fields)
    log.info("breakage %d (cause %s) declared by %s", made.id, made.cause, g.actor)
    return jsonify(BreakageSchema().dump(made)), 201


@bp.get("/breakages/<int:breakage_id>")
@require(Scope.READ)
def get_breakage(breakage_id: int) -> Response:
    return jsonify(BreakageSchema().dump(breakages.get(get_store(), breakage_id)))


@bp.patch("/breakages/<int:breakage_id>")
@require(Scope.ADMIN)
def resolve_breakage(breakage_id: int) -> Response:
    fields = load_body(BreakageResolveSchema())
    try:
        done = breakages.resolve(get_store(), breakage_id, actor=g.actor, **fields)
    except breakages.AlreadyResolved as err:
        raise ApiError(409, str(err)) from None
    log.info("breakage %d resolved (%s) by %s", done.id, done.resolution, g.actor)
    return jsonify(BreakageSchema().dump(done))
