"""``/scans``: re-scan stored logs on demand (admin) and follow a scan's progress (read)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.routes.common import load_body
from api.schemas.patterns import ScanCreateSchema, ScanSchema
from api.services import patterns, scans
from api.store import NotFound

bp = Blueprint("scans", __name__)
log = logging.getLogger(__name__)


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
