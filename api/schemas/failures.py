"""Failure causes over HTTP (SPEC §10): a failed run's cause, a job's and a payload's failures,
and the unexplained-failure clusters."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api.schemas.common import name_field, timestamp_field
from api.services.failures import RunCause


class DecisiveSchema(Schema):
    """The decisive match: which pattern version matched where, and the line's text."""

    pattern_id = fields.Integer(attribute="line.pattern_id")
    pattern_version = fields.Integer(attribute="line.pattern_version")
    step = fields.String()
    line = fields.Integer(attribute="line.line_number")
    start = fields.Integer(attribute="line.start")
    end = fields.Integer(attribute="line.end")
    text = fields.String(attribute="line.line_text")


class FailureCauseSchema(Schema):
    job = fields.String(attribute="classification.job")
    run_id = fields.String(attribute="classification.run_id")
    failure_class = fields.Function(lambda c: c.classification.failure_class.value,
                                    data_key="class")
    reason = fields.String(attribute="classification.reason")
    decisive = fields.Nested(DecisiveSchema, attribute="classification.decisive",
                             allow_none=True)
    breakage_id = fields.Integer(attribute="classification.breakage_id", allow_none=True)
    excused = fields.Boolean()
    excused_by = fields.String(allow_none=True)


def cause_dump(cause: RunCause | None) -> dict[str, Any] | None:
    return None if cause is None else FailureCauseSchema().dump(cause)


class JobFailuresSchema(Schema):
    job = fields.String()
    summary = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    runs = fields.List(fields.Nested(FailureCauseSchema), attribute="causes")
    excused = fields.Function(lambda f: [c.classification.run_id for c in f.excused])


class PayloadFailuresSchema(Schema):
    payload = fields.String()
    summary = fields.String()
    jobs = fields.List(fields.Nested(JobFailuresSchema))


class UnexplainedQuery(Schema):
    since = timestamp_field(load_default=None, allow_none=True)
    job = name_field(load_default=None)
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1))


class ExampleSchema(Schema):
    job = fields.String()
    run_id = fields.String()
    step = fields.String()
    line = fields.Integer(attribute="line_number")
    text = fields.String()


class ClusterSchema(Schema):
    normal = fields.String()
    count = fields.Integer()
    examples = fields.List(fields.Nested(ExampleSchema))
