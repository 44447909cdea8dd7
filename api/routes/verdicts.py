from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from api.auth import require
from api.domain import Scope
from api.routes.common import load_query
from api.schemas.verdicts import PayloadVerdictSchema, VerdictQuery
from api.services import verdict_markdown, verdicts
from api.services.context import store

bp = Blueprint("verdicts", __name__)


@bp.get("/payloads/<seg:payload_id>/verdict")
@require(Scope.READ)
def get_verdict(payload_id: str) -> Response:
    query = load_query(VerdictQuery())
    policy, fmt = query["policy"], query["format"]
    prepared = verdicts.prepare(store(), payload_id, policy=policy)
    if request.if_none_match.contains(f"{prepared.etag}-{fmt}"):
        not_modified = Response(status=304)
        not_modified.set_etag(f"{prepared.etag}-{fmt}")
        return not_modified
    cache = verdicts.CACHE if current_app.config["VERDICT_CACHE"] else None
    verdict = verdicts.judge(store(), prepared, cache=cache,
                             cache_scope=current_app.config["DATABASE"])
    if fmt == "markdown":
        response = Response(verdict_markdown.render(verdict), mimetype="text/markdown")
    else:
        response = jsonify(PayloadVerdictSchema().dump(verdict))
    response.set_etag(f"{verdict.etag}-{fmt}")
    response.headers["Cache-Control"] = "no-cache"  # revalidate with If-None-Match every time
    return response
