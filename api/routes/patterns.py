"""``/patterns``: curated failure patterns (SPEC section 10). Curating is admin-only and audited
(the patterns' own audit log); reading needs the read scope."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, g, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.routes.common import load_body, load_query, page_limit
from api.schemas.common import page_dump
from api.schemas.patterns import (
    PatternAuditSchema,
    PatternCreateSchema,
    PatternEditSchema,
    PatternGetQuery,
    PatternListQuery,
    PatternSchema,
    RetireSchema,
    StatsQuery,
)
from api.services import patterns

bp = Blueprint("patterns", __name__)
log = logging.getLogger(__name__)
AUDIT_SHOWN = 50  # the newest curating acts shown with a pattern


@bp.get("/patterns")
@require(Scope.READ)
def list_patterns() -> Response:
    query = load_query(PatternListQuery())
    page = get_store().patterns.list_patterns(
        include_retired=query["include_retired"], tag=query["tag"], limit=page_limit(query),
        cursor=query["cursor"])
    return jsonify(page_dump(PatternSchema(many=True).dump(page.items), page.next_cursor))


@bp.post("/patterns")
@require(Scope.ADMIN)
def create_pattern() -> tuple[Response, int]:
    fields = load_body(PatternCreateSchema())
    made = patterns.create(get_store(), fields, actor=g.actor)
    log.info("pattern %s created by %s", made.id, g.actor)
    return jsonify(PatternSchema().dump(made)), 201


@bp.get("/patterns/stats")
@require(Scope.READ)
def pattern_stats() -> Response:
    query = load_query(StatsQuery())
    since = patterns.parse_since(query["since"])
    assert since is not None
    counts = patterns.stats(get_store(), since=since, job=query["job"], tag=query["tag"])
    return jsonify({"since": since.isoformat(), "job": query["job"], "tag": query["tag"],
                    "items": [{"pattern_id": c.pattern_id, "job": c.job, "day": c.day,
                               "runs": c.runs, "matches": c.matches} for c in counts]})


@bp.get("/patterns/<int:pattern_id>")
@require(Scope.READ)
def get_pattern(pattern_id: int) -> Response:
    query = load_query(PatternGetQuery())
    store = get_store()
    found = patterns.get(store, pattern_id, query["version"])
    threshold = patterns.generic_share(current_app.config["GENERIC_PATTERN_SHARE"])
    audit = store.patterns.pattern_audit(pattern_id, limit=AUDIT_SHOWN)
    return jsonify({**PatternSchema().dump(found),
                    "generic": patterns.generic_flag(store, pattern_id, threshold).as_dict(),
                    "audit": PatternAuditSchema(many=True).dump(audit.items)})


@bp.patch("/patterns/<int:pattern_id>")
@require(Scope.ADMIN)
def edit_pattern(pattern_id: int) -> Response:
    fields = load_body(PatternEditSchema())
    edited = patterns.edit(get_store(), pattern_id, fields, actor=g.actor)
    log.info("pattern %s edited by %s (version %s)", pattern_id, g.actor, edited.version)
    return jsonify(PatternSchema().dump(edited))


@bp.post("/patterns/<int:pattern_id>/retire")
@require(Scope.ADMIN)
def retire_pattern(pattern_id: int) -> Response:
    fields = load_body(RetireSchema())
    retired = patterns.retire(get_store(), pattern_id, actor=g.actor, reason=fields["reason"])
    log.info("pattern %s retired by %s", pattern_id, g.actor)
    return jsonify(PatternSchema().dump(retired))
