from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.auth import require
from api.db import get_store, get_verdict_cache
from api.domain import Scope
from api.routes.common import load_query
from api.routes.failures import generic_share
from api.schemas.verdicts import PayloadVerdictSchema, VerdictQuery
from api.services import verdict_markdown, verdicts

bp = Blueprint("verdicts", __name__)


@bp.get("/payloads/<seg:payload_id>/verdict")
@require(Scope.READ)
def get_verdict(payload_id: str) -> Response:
    query = load_query(VerdictQuery())
    policy, fmt = query["policy"], query["format"]
    prepared = verdicts.prepare(get_store(), payload_id, policy=policy,
                                generic_share=generic_share())
    if request.if_none_match.contains(f"{prepared.etag}-{fmt}"):
        not_modified = Response(status=304)
        not_modified.set_etag(f"{prepared.etag}-{fmt}")
        return not_modified
    verdict = verdicts.judge(get_store(), prepared, cache=get_verdict_cache())
    if fmt == "markdown":
        response = Response(verdict_markdown.render(verdict), mimetype="text/markdown")
    else:
        response = jsonify(PayloadVerdictSchema().dump(verdict))
    response.set_etag(f"{verdict.etag}-{fmt}")
    response.headers["Cache-Control"] = "no-cache"  # revalidate with If-None-Match every time
    return response
