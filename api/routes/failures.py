"""Failure causes (SPEC §10): a payload's classified failures, and the unexplained clusters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import ValidationError

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.routes.common import load_query
from api.schemas.common import check_path_names
from api.schemas.failures import ClusterSchema, PayloadFailuresSchema, UnexplainedQuery
from api.services import failure_logs, failures, patterns

bp = Blueprint("failures", __name__)

DEFAULT_SINCE = timedelta(days=14)


def generic_share() -> float:
    """The app's GENERIC_PATTERN_SHARE (validated at start-up by the scan schedule)."""
    return patterns.generic_share(current_app.config["GENERIC_PATTERN_SHARE"])


DEFAULT_RUNS, MAX_RUNS = 1000, 10_000


@bp.get("/payloads/<seg:payload_id>/failures")
@require(Scope.READ)
def payload_failures(payload_id: str) -> Response:
    check_path_names(payload_id=payload_id)
    found = failures.payload_failures_or_404(get_store(), payload_id,
                                             generic_share=generic_share())
    return jsonify(PayloadFailuresSchema().dump(found))


@bp.get("/failures/unexplained")
@require(Scope.READ)
def unexplained() -> Response:
    query = load_query(UnexplainedQuery())
    limit = query["limit"] or DEFAULT_RUNS
    if limit > MAX_RUNS:
        raise ValidationError({"limit": [f"must be at most {MAX_RUNS}"]})
    since = query["since"] or datetime.now(UTC) - DEFAULT_SINCE
    store = get_store()
    report = failures.unexplained_clusters(store, since=since, job=query["job"], limit=limit,
                                           log_lines=failure_logs.reader(store),
                                           generic_share=generic_share())
    return jsonify({"since": report.since.isoformat(), "failed": report.failed,
                    "new": report.new, "without_line": report.without_line,
                    "clusters": ClusterSchema(many=True).dump(report.clusters)})
