from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, g, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.routes.common import load_body, load_query, page_limit
from api.schemas.baselines import (
    AuditEntrySchema,
    BaselineComputeSchema,
    BaselineQuery,
    BaselineVersionSchema,
    LoosenSchema,
    TestBaselineSchema,
)
from api.schemas.common import PageQuery, page_dump
from api.services import baselines
from api.store import AuditEntry

bp = Blueprint("baselines", __name__)


@bp.post("/jobs/<seg:job>/baselines")
@require(Scope.WRITE)
def compute_baseline(job: str) -> tuple[Response, int]:
    fields = load_body(BaselineComputeSchema())
    # Without latch a new version may lower pass rates: who computed it is worth keeping.
    entry = AuditEntry(job=job, action="compute", actor=g.actor, reason=fields.get("note") or "",
                       tests=(), version=None, at=datetime.now(UTC))
    version = baselines.compute(get_store(), job, audit=entry, **fields)
    return jsonify(BaselineVersionSchema().dump(version)), 201


@bp.get("/jobs/<seg:job>/baselines")
@require(Scope.READ)
def list_baselines(job: str) -> Response:
    query = load_query(PageQuery())
    page = baselines.list_versions(get_store(), job, limit=page_limit(query),
                                   cursor=query["cursor"])
    return jsonify(page_dump(BaselineVersionSchema(many=True).dump(page.items),
                             page.next_cursor))


@bp.get("/jobs/<seg:job>/baseline")
@require(Scope.READ)
def get_baseline(job: str) -> Response:
    query = load_query(BaselineQuery())
    version, page = baselines.page_of_tests(get_store(), job, version=query["version"],
                                            limit=page_limit(query), cursor=query["cursor"])
    body = {"baseline": BaselineVersionSchema().dump(version),
            **page_dump(TestBaselineSchema(many=True).dump(page.items), page.next_cursor)}
    return jsonify(body)


@bp.post("/jobs/<seg:job>/baseline/loosen")
@require(Scope.ADMIN)
def loosen(job: str) -> tuple[Response, int]:
    fields = load_body(LoosenSchema())
    keys = [(test["suite"], test["name"]) for test in fields["tests"]]
    version = baselines.loosen(get_store(), job, keys, reason=fields["reason"], actor=g.actor)
    return jsonify(BaselineVersionSchema().dump(version)), 201


@bp.get("/jobs/<seg:job>/audit")
@bp.get("/jobs/<seg:job>/baseline/audit")  # the older path, kept as an alias
@require(Scope.READ)
def audit(job: str) -> Response:
    query = load_query(PageQuery())
    page = baselines.audit_log(get_store(), job, limit=page_limit(query), cursor=query["cursor"])
    return jsonify(page_dump(AuditEntrySchema(many=True).dump(page.items), page.next_cursor))
