from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.domain import RunStatus, TestStatus
from api.schemas.common import (
    NAME_MAX,
    NAME_PATTERN,
    NAME_RULE,
    PageQuery,
    name_field,
    string_map,
    timestamp_field,
)

RUN_STATUSES = tuple(status.value for status in RunStatus)
TEST_STATUSES = tuple(status.wire for status in TestStatus)


class TestResultSchema(Schema):
    name = name_field(required=True)
    suite = fields.String(load_default="", validate=[
        validate.Length(max=NAME_MAX), validate.Regexp(NAME_PATTERN, error=NAME_RULE)])
    status = fields.String(required=True, validate=validate.OneOf(TEST_STATUSES))
    # A billion seconds is 31 years: anything longer is a unit mistake, not a test duration.
    duration_s = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                              validate=validate.Range(min=0, max=1e9))
    # Longer messages are accepted and truncated (head and tail kept), not refused.
    message = fields.String(load_default=None, allow_none=True)
    informing = fields.Boolean(load_default=False)


class RunPutSchema(Schema):
    payload = name_field(load_default=None, allow_none=True)
    status = fields.String(load_default=RunStatus.PENDING.value,
                           validate=validate.OneOf(RUN_STATUSES))
    started_at = timestamp_field(load_default=None, allow_none=True)
    finished_at = timestamp_field(load_default=None, allow_none=True)
    url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4096))
    variant = string_map(load_default=dict)
    metadata = string_map(load_default=dict)
    tests = fields.List(fields.Nested(TestResultSchema), load_default=None, allow_none=True)


class RunListQuery(PageQuery):
    payload = name_field(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(RUN_STATUSES))
    since = timestamp_field(load_default=None)


class RunTestsQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(TEST_STATUSES))


class CountsSchema(Schema):
    total = fields.Integer()
    passed = fields.Integer()
    failed = fields.Integer()
    errors = fields.Integer()
    skipped = fields.Integer()
    flaked = fields.Integer()


class FileSchema(Schema):
    name = fields.String()
    sha256 = fields.String()
    tests = fields.Integer()


class RunSchema(Schema):
    job = fields.String(attribute="spec.job")
    run_id = fields.String(attribute="spec.run_id")
    payload = fields.String(attribute="spec.payload", allow_none=True)
    status = fields.Function(lambda run: run.spec.status.value)
    started_at = fields.DateTime(attribute="spec.started_at", allow_none=True)
    finished_at = fields.DateTime(attribute="spec.finished_at", allow_none=True)
    url = fields.String(attribute="spec.url", allow_none=True)
    variant = fields.Dict(attribute="spec.variant")
    metadata = fields.Dict(attribute="spec.metadata")
    counts = fields.Nested(CountsSchema)
    files = fields.List(fields.Nested(FileSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TestResultDumpSchema(Schema):
    name = fields.String()
    suite = fields.String()
    status = fields.Function(lambda result: result.status.wire)
    duration_s = fields.Float(allow_none=True)
    message = fields.String(allow_none=True)
    informing = fields.Boolean()


class AttachedFileSchema(FileSchema):
    added = fields.Boolean()


class JunitUploadResultSchema(Schema):
    run = fields.Nested(RunSchema)
    files = fields.List(fields.Nested(AttachedFileSchema))

