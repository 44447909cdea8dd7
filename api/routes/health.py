from __future__ import annotations

from importlib import resources

from flask import Blueprint, Response, jsonify

from api import metrics
from api.db import get_store
from api.errors import error_response

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    try:
        get_store().ping()
    except Exception as err:  # any backend failure means "not healthy", never a 500 page
        return error_response(503, f"the store does not answer: {err}")
    return jsonify({"status": "ok"})


@bp.get("/metrics")
def metrics_view() -> Response:
    return metrics.render()


@bp.get("/openapi.yaml")
def openapi() -> Response:
    text = resources.files("api").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")
