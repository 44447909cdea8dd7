from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope, WriteOutcome
from api.routes.common import load_body, load_query, page_limit
from api.schemas.common import PageQuery, check_path_names, page_dump
from api.schemas.jobs import JobPutSchema, JobSchema
from api.services import catalog

bp = Blueprint("jobs", __name__)


@bp.get("/jobs")
@require(Scope.READ)
def list_jobs() -> Response:
    query = load_query(PageQuery())
    page = catalog.list_jobs(get_store(), limit=page_limit(query), cursor=query["cursor"])
    return jsonify(page_dump(JobSchema(many=True).dump(page.items), page.next_cursor))


@bp.put("/jobs/<seg:job>")
@require(Scope.WRITE)
def put_job(job: str) -> tuple[Response, int]:
    check_path_names(job=job)
    fields = load_body(JobPutSchema())
    saved, outcome = catalog.put_job(get_store(), job, fields, actor=g.actor,
                                     admin=g.scope is Scope.ADMIN)
    return jsonify(JobSchema().dump(saved)), 201 if outcome is WriteOutcome.CREATED else 200


@bp.get("/jobs/<seg:job>")
@require(Scope.READ)
def get_job(job: str) -> Response:
    return jsonify(JobSchema().dump(catalog.get_job(get_store(), job)))
