"""``GET /payloads/{payload_id}/github``: what flakegate publishes on GitHub for a payload
(:mod:`api.github.rendered`), for the GitHub Action to post with the workflow's token."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.github.rendered import rendering
from api.routes.failures import generic_share

bp = Blueprint("github_rendering", __name__)


@bp.get("/payloads/<seg:payload_id>/github")
@require(Scope.READ)
def get_github_rendering(payload_id: str) -> Response:
    # Links point at FLAKEGATE_PUBLIC_URL, else at this server as the client reached it.
    public_url = current_app.config.get("PUBLIC_URL") or request.url_root.rstrip("/")
    return jsonify(rendering(get_store(), payload_id, public_url=public_url,
                             generic_share=generic_share()))
