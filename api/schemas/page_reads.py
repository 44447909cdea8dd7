"""Queries and bodies of the reads behind the pages: ``GET /payloads``, ``GET
/jobs/{job}/tests`` and ``GET /jobs/{job}/tests/{key}/history``."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api.schemas.baselines import BaselineVersionSchema
from api.schemas.common import PageQuery, control_free_string
from api.services.test_reads import TestOrder
from api.store.page_reads import TestOutcome


class JobTestsQuery(PageQuery):
    sort = fields.String(load_default=TestOrder.LEAST_STABLE.value,
                         validate=validate.OneOf([order.value for order in TestOrder]))
    q = control_free_string(max_length=512, load_default=None)


class JobSummarySchema(Schema):
    job = fields.String()
    verdict = fields.String()
    regressions = fields.Integer()
    failed_runs = fields.Integer()
    pending_runs = fields.Integer()
    expected_runs = fields.Integer()
    finished_runs = fields.Integer()
    deadline = fields.DateTime(allow_none=True)


class PayloadSummarySchema(Schema):
    payload = fields.String()
    first_seen = fields.DateTime()
    registered = fields.Boolean()
    verdict = fields.String()
    deadline = fields.DateTime(allow_none=True)
    deadline_passed = fields.Boolean()
    warnings = fields.Integer()
    jobs = fields.List(fields.Nested(JobSummarySchema))


class TestStabilitySchema(Schema):
    __test__ = False  # not a pytest test class

    key = fields.String()
    suite = fields.String()
    name = fields.String()
    runs = fields.Integer()
    passes = fields.Integer()
    failures = fields.Integer()
    flakes = fields.Integer()
    pass_rate = fields.Float()
    observed_pass_rate = fields.Float()
    flaky_share = fields.Float()
    latched = fields.Boolean()


class TestRefSchema(Schema):
    __test__ = False  # not a pytest test class

    key = fields.String()
    suite = fields.String()
    name = fields.String()


def outcome_json(outcome: TestOutcome) -> dict[str, Any]:
    """One history row as JSON. Written out rather than a marshmallow schema: a page holds up
    to 1,000 rows, and a schema's per-field machinery would cost more than the store read."""
    return {"run_id": outcome.run_id, "payload": outcome.payload,
            "created_at": outcome.created_at.isoformat(), "run_status": outcome.run_status.value,
            "status": outcome.status.wire, "duration_s": outcome.duration_s,
            "message": outcome.message}


def baseline_dump(version: object | None) -> object | None:
    return None if version is None else BaselineVersionSchema().dump(version)
