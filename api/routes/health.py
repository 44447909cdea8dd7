from __future__ import annotations

import logging
from importlib import resources

from flask import Blueprint, Response, jsonify

from api import metrics
from api.db import get_store
from api.errors import error_response

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    try:
        get_store().ping()
    except Exception:  # any backend failure means "not healthy", never a 500 page
        # Unauthenticated: say nothing of paths or backends; the log has the details.
        log.warning("healthz: store unavailable", exc_info=True)
        return error_response(503, "store unavailable", headers={"Retry-After": "2"})
    return jsonify({"status": "ok"})


@bp.get("/metrics")
def metrics_view() -> Response:
    return metrics.render()


@bp.get("/openapi.yaml")
def openapi() -> Response:
    text = resources.files("api").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")
