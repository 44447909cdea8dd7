"""The JSON reads behind the pages (issue 15): recent payloads with verdict summaries, a job's
tests with their stability, one test's history. The pages call the same services."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.auth import require
from api.db import get_store, get_verdict_cache
from api.domain import Scope
from api.routes.common import load_query, page_limit
from api.routes.failures import generic_share
from api.schemas.common import PageQuery, page_dump
from api.schemas.page_reads import (
    JobTestsQuery,
    PayloadSummarySchema,
    TestRefSchema,
    TestStabilitySchema,
    baseline_dump,
    outcome_json,
)
from api.services import payload_list, test_reads
from api.services.test_reads import TestOrder

bp = Blueprint("page_reads", __name__)


@bp.get("/payloads")
@require(Scope.READ)
def list_payloads() -> Response:
    query = load_query(PageQuery())
    page = payload_list.recent_payloads(get_store(), limit=page_limit(query),
                                        cursor=query["cursor"], cache=get_verdict_cache(),
                                        generic_share=generic_share())
    return jsonify(page_dump(PayloadSummarySchema(many=True).dump(page.items),
                             page.next_cursor))


@bp.get("/jobs/<seg:job>/tests")
@require(Scope.READ)
def list_job_tests(job: str) -> Response:
    query = load_query(JobTestsQuery())
    baseline, page = test_reads.job_tests(get_store(), job, order=TestOrder(query["sort"]),
                                          contains=query["q"], limit=page_limit(query),
                                          cursor=query["cursor"])
    return jsonify({"baseline": baseline_dump(baseline),
                    **page_dump(TestStabilitySchema(many=True).dump(page.items),
                                page.next_cursor)})


@bp.get("/jobs/<seg:job>/tests/<seg:key>/history")
@require(Scope.READ)
def test_history(job: str, key: str) -> Response:
    query = load_query(PageQuery())
    test, page = test_reads.test_history(get_store(), job, key, limit=page_limit(query),
                                         cursor=query["cursor"])
    return jsonify({"test": TestRefSchema().dump(test),
                    **page_dump([outcome_json(item) for item in page.items],
                                page.next_cursor)})
