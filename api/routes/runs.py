from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope, TestStatus, WriteOutcome
from api.metrics import count_ingested
from api.routes.common import load_body, load_query, page_limit
from api.routes.failures import generic_share
from api.schemas.common import DeleteQuery, check_path_names, page_dump
from api.schemas.failures import cause_dump
from api.schemas.runs import (
    RunListQuery,
    RunPutSchema,
    RunSchema,
    RunTestsQuery,
    TestResultDumpSchema,
)
from api.services import catalog, failures, measurements_view

bp = Blueprint("runs", __name__)


@bp.put("/jobs/<seg:job>/runs/<seg:run_id>")
@require(Scope.WRITE)
def put_run(job: str, run_id: str) -> tuple[Response, int]:
    check_path_names(job=job, run_id=run_id)
    fields = load_body(RunPutSchema())
    run, outcome = catalog.put_run(get_store(), job, run_id, fields, observer=count_ingested)
    return jsonify(RunSchema().dump(run)), 201 if outcome is WriteOutcome.CREATED else 200


@bp.get("/jobs/<seg:job>/runs/<seg:run_id>")
@require(Scope.READ)
def get_run(job: str, run_id: str) -> Response:
    store = get_store()
    run = catalog.get_run(store, job, run_id)
    body = RunSchema().dump(run)
    body.update(measurements_view.run_view(store, job, run_id))  # SPEC §9
    # A failed run says why it failed (SPEC §10); null for any other status.
    body["failure_cause"] = cause_dump(failures.run_cause(store, run,
                                                          generic_share=generic_share()))
    return jsonify(body)


@bp.delete("/jobs/<seg:job>/runs/<seg:run_id>")
@require(Scope.ADMIN)
def delete_run(job: str, run_id: str) -> tuple[str, int]:
    reason = load_query(DeleteQuery())["reason"]
    catalog.delete_run(get_store(), job, run_id, actor=g.actor, reason=reason)
    return "", 204


@bp.get("/jobs/<seg:job>/runs")
@require(Scope.READ)
def list_runs(job: str) -> Response:
    query = load_query(RunListQuery())
    page = catalog.list_runs(get_store(), job, query, limit=page_limit(query))
    return jsonify(page_dump(RunSchema(many=True).dump(page.items), page.next_cursor))


@bp.get("/jobs/<seg:job>/runs/<seg:run_id>/tests")
@require(Scope.READ)
def get_run_tests(job: str, run_id: str) -> Response:
    query = load_query(RunTestsQuery())
    status = TestStatus.from_wire(query["status"]) if query["status"] else None
    page = catalog.page_run_tests(get_store(), job, run_id, status=status,
                                  limit=page_limit(query), cursor=query["cursor"])
    return jsonify(page_dump(TestResultDumpSchema(many=True).dump(page.items), page.next_cursor))
