"""Disruption and alert baselines (SPEC §9): compute a version (admin), list its rows, or
answer it whole in origin's query_results.json form."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from api.auth import require
from api.db import get_store
from api.disruption.model import MeasurementKind
from api.domain import Scope
from api.routes.common import load_body, load_query, page_limit
from api.schemas.common import page_dump
from api.schemas.disruption_baselines import (
    VARIANT_FILTERS,
    DisruptionBaselineComputeSchema,
    DisruptionBaselineQuery,
    DisruptionBaselineVersionSchema,
    row_dump,
)
from api.services import disruption_baselines

bp = Blueprint("disruption_baselines", __name__)


@bp.post("/disruption/baselines")
@require(Scope.ADMIN)
def compute() -> tuple[Response, int]:
    fields = load_body(DisruptionBaselineComputeSchema())
    # Baselines set what every run is judged against: admin only, and the version records
    # who computed it and why (see api/services/disruption_baselines.py).
    done = disruption_baselines.compute(get_store(), MeasurementKind(fields["kind"]),
                                        window_days=fields["window_days"], actor=g.actor,
                                        note=fields["note"])
    return jsonify(DisruptionBaselineVersionSchema().dump(done.version)), 201


@bp.get("/disruption/baselines")
@require(Scope.READ)
def rows() -> Response:
    query = load_query(DisruptionBaselineQuery())
    kind = MeasurementKind(query["kind"])
    if query["format"] == "origin":
        text = disruption_baselines.origin_text(get_store(), kind, query["version"])
        return Response(text, mimetype="application/json")
    filters = {name: query[name] for name in ("name", "namespace", "level", *VARIANT_FILTERS)}
    version, page = disruption_baselines.page_rows(get_store(), kind, query["version"], filters,
                                                   limit=page_limit(query),
                                                   cursor=query["cursor"])
    body = {"baseline": DisruptionBaselineVersionSchema().dump(version),
            **page_dump([row_dump(row) for row in page.items], page.next_cursor)}
    return jsonify(body)
