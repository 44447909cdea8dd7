"""``/scans``: re-scan stored logs on demand (admin) and follow a scan's progress (read)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, g, has_app_context, jsonify
from flask.blueprints import BlueprintSetupState

from api.auth import require
from api.config import load_config
from api.db import get_store
from api.domain import Scope
from api.routes.common import load_body
from api.schemas.patterns import ScanCreateSchema, ScanSchema
from api.services import logs, patterns, scans
from api.store import NotFound, Store

bp = Blueprint("scans", __name__)
log = logging.getLogger(__name__)


def scan_on_arrival(store: Store, event: logs.LogStored) -> None:
    """The ``on_log_stored`` listener: scan a stored log with the live patterns."""
    config = current_app.config if has_app_context() else load_config()
    scans.scan_stored(store, event.job, event.run_id, event.step,
                      passing_every=int(config["SCAN_PASSING_EVERY"]))


@bp.record_once
def _listen(_state: BlueprintSetupState) -> None:
    # Once per process, whatever number of apps (tests build many) register the blueprint.
    if scan_on_arrival not in logs.on_log_stored:
        logs.on_log_stored.append(scan_on_arrival)


@bp.post("/scans")
@require(Scope.ADMIN)
def create_scan() -> tuple[Response, int]:
    fields = load_body(ScanCreateSchema())
    since = patterns.parse_since(fields["since"])
    record = scans.queue_rescan(get_store(), since=since, job=fields["job"], actor=g.actor)
    log.info("scan %s queued by %s", record.id, g.actor)
    return jsonify(ScanSchema().dump(record)), 202


@bp.get("/scans/<int:scan_id>")
@require(Scope.READ)
def get_scan(scan_id: int) -> Response:
    found = get_store().patterns.get_scan(scan_id) if scan_id <= patterns.MAX_ID else None
    if found is None:
        raise NotFound(f"no scan {scan_id}")
    return jsonify(ScanSchema().dump(found))
