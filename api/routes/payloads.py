from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope, WriteOutcome
from api.routes.common import load_body, load_query
from api.schemas.common import DeleteQuery, check_path_names
from api.schemas.payloads import PayloadPutSchema, PayloadSchema
from api.services import catalog

bp = Blueprint("payloads", __name__)


@bp.put("/payloads/<seg:payload_id>")
@require(Scope.WRITE)
def put_payload(payload_id: str) -> tuple[Response, int]:
    check_path_names(payload_id=payload_id)
    fields = load_body(PayloadPutSchema())
    saved, outcome = catalog.put_payload(get_store(), payload_id, fields)
    return jsonify(PayloadSchema().dump(saved)), 201 if outcome is WriteOutcome.CREATED else 200


@bp.get("/payloads/<seg:payload_id>")
@require(Scope.READ)
def get_payload(payload_id: str) -> Response:
    return jsonify(PayloadSchema().dump(catalog.get_payload(get_store(), payload_id)))


@bp.delete("/payloads/<seg:payload_id>")
@require(Scope.ADMIN)
def delete_payload(payload_id: str) -> tuple[str, int]:
    reason = load_query(DeleteQuery())["reason"]
    catalog.delete_payload(get_store(), payload_id, actor=g.actor, reason=reason)
    return "", 204
