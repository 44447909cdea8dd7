from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.disruption_judging import DisruptionSectionSchema
from api.schemas.failures import JobFailuresSchema
from api.schemas.jobs import POLICIES


class VerdictQuery(Schema):
    policy = fields.String(load_default=None, validate=validate.OneOf(POLICIES))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "markdown")))


class RunsSummarySchema(Schema):
    expected = fields.Integer()
    finished = fields.Integer()
    counted = fields.Integer()
    pending = fields.Integer()


class BaselineRefSchema(Schema):
    version = fields.Integer()
    runs = fields.Integer()


class RegressionSchema(Schema):
    test = fields.String()
    suite = fields.String()
    passes = fields.Integer()
    failures = fields.Integer()
    baseline_pass_rate = fields.Float(allow_none=True)
    allowed_failures = fields.Integer()
    p_value = fields.Float()
    reason = fields.String()


class VerdictWarningSchema(Schema):
    code = fields.String()
    job = fields.String()
    message = fields.String()


class JobVerdictSchema(Schema):
    job = fields.String()
    verdict = fields.String()
    policy = fields.String()
    runs = fields.Nested(RunsSummarySchema)
    baseline = fields.Nested(BaselineRefSchema, allow_none=True)
    tests_checked = fields.Integer()
    regressions = fields.List(fields.Nested(RegressionSchema))
    notes = fields.Dict(keys=fields.String(), values=fields.Integer())
    reason = fields.String()
    warnings = fields.List(fields.Nested(VerdictWarningSchema))
    disruption = fields.Nested(DisruptionSectionSchema, allow_none=True)
    failures = fields.Nested(JobFailuresSchema, allow_none=True)  # failure causes (§10)


class PayloadVerdictSchema(Schema):
    payload = fields.String()
    verdict = fields.String()
    policy = fields.String()
    deadline = fields.DateTime(allow_none=True)
    deadline_passed = fields.Boolean()
    jobs = fields.List(fields.Nested(JobVerdictSchema))
    warnings = fields.List(fields.Nested(VerdictWarningSchema))
