"""``GET /disruption/allowed``: origin's best match and the single-run allowance of one key."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.routes.common import load_query
from api.schemas.disruption_judging import AllowedQuery, AllowedSchema, key_and_variant
from api.services import disruption_allowed

bp = Blueprint("disruption_allowed", __name__)


@bp.get("/disruption/allowed")
@require(Scope.READ)
def get_allowed() -> Response:
    key, variant = key_and_variant(load_query(AllowedQuery()))
    return jsonify(AllowedSchema().dump(disruption_allowed.allowed(get_store(), key, variant)))
