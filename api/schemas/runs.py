from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.domain import RunStatus, TestStatus
from api.schemas.common import (
    CutTestName,
    PageQuery,
    control_free_string,
    name_field,
    string_map,
    timestamp_field,
)

RUN_STATUSES = tuple(status.value for status in RunStatus)
TEST_STATUSES = tuple(status.wire for status in TestStatus)


class TestResultSchema(Schema):
    # Longer names are cut (api.names.cut_test_name), never refused.
    name = CutTestName(required=True, validate=validate.Length(min=1))
    suite = CutTestName(load_default="")
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
    url = control_free_string(max_length=4096, load_default=None, allow_none=True)
    variant = string_map(load_default=dict)
    metadata = string_map(load_default=dict)
    tests = fields.List(fields.Nested(TestResultSchema), load_default=None, allow_none=True)

    @validates_schema
    def _finished_after_start(self, data: dict[str, Any], **_: Any) -> None:
        started, finished = data.get("started_at"), data.get("finished_at")
        if started is not None and finished is not None and finished < started:
            raise ValidationError("must not be before started_at", "finished_at")


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
    # Test or suite names longer than api.names.TEST_NAME_MAX, cut rather than refused.
    names_cut = fields.Integer()

