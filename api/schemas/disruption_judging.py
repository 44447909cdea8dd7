"""Marshmallow schemas of the disruption judging outputs (openapi ``Disruption*``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api.disruption.model import MeasurementKey, MeasurementKind, Variant

KINDS = tuple(kind.value for kind in MeasurementKind)


class MeasurementKeySchema(Schema):
    kind = fields.Function(lambda key: key.kind.value)
    name = fields.String()
    namespace = fields.String()
    level = fields.String()


class VariantSchema(Schema):
    release = fields.String()
    from_release = fields.String()
    platform = fields.String()
    architecture = fields.String()
    network = fields.String()
    topology = fields.String()
    master_nodes_updated = fields.String()


class BaselineRowSchema(Schema):
    variant = fields.Nested(VariantSchema)
    job_runs = fields.Integer()
    p95 = fields.Float()
    p99 = fields.Float()
    p50 = fields.Float(allow_none=True)
    p75 = fields.Float(allow_none=True)


class AllowedSchema(Schema):
    key = fields.Nested(MeasurementKeySchema)
    variant = fields.Nested(VariantSchema)
    row = fields.Nested(BaselineRowSchema, allow_none=True)
    step = fields.String()
    reason = fields.String()
    allowed_seconds = fields.Float(allow_none=True)


class AllowedQuery(Schema):
    """``GET /disruption/allowed``: the key and the variant (absent fields are "")."""

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    namespace = fields.String(load_default="", validate=validate.Length(max=255))
    level = fields.String(load_default="", validate=validate.Length(max=32))
    release = fields.String(load_default="", validate=validate.Length(max=64))
    from_release = fields.String(load_default="", validate=validate.Length(max=64))
    platform = fields.String(load_default="", validate=validate.Length(max=64))
    architecture = fields.String(load_default="", validate=validate.Length(max=64))
    network = fields.String(load_default="", validate=validate.Length(max=64))
    topology = fields.String(load_default="", validate=validate.Length(max=64))


def key_and_variant(query: dict[str, Any]) -> tuple[MeasurementKey, Variant]:
    kind = MeasurementKind(query["kind"])
    level = query["level"]
    if kind is MeasurementKind.ALERTS and level:
        level = level[:1].upper() + level[1:].lower()  # origin's casing: Warning, Critical
    key = MeasurementKey(kind, query["name"],
                         query["namespace"] if kind is MeasurementKind.ALERTS else "",
                         level if kind is MeasurementKind.ALERTS else "")
    variant = Variant(query["release"], query["from_release"], query["platform"],
                      query["architecture"], query["network"], query["topology"])
    return key, variant


class RunSecondsSchema(Schema):
    run_id = fields.String()
    seconds = fields.Integer()
    passed = fields.Boolean()


class CheckSchema(Schema):
    key = fields.Nested(MeasurementKeySchema)
    check = fields.String()
    status = fields.Function(lambda check: check.status.value)
    reason = fields.String()
    threshold = fields.Float(allow_none=True)
    runs = fields.List(fields.Nested(RunSecondsSchema))


class PolicyResultSchema(Schema):
    policy = fields.String()
    verdict = fields.Function(lambda result: result.status.value)
    checks = fields.List(fields.Nested(CheckSchema))


class RunCheckSchema(Schema):
    run_id = fields.String()
    key = fields.Nested(MeasurementKeySchema)
    seconds = fields.Integer()
    status = fields.Function(lambda check: check.status.value)
    allowed = fields.Float(allow_none=True)
    reason = fields.String()
    step = fields.Function(lambda check: check.match.step)


class HistoryUsedSchema(Schema):
    kind = fields.Function(lambda used: used.kind.value)
    job = fields.String()
    runs = fields.Integer()
    since = fields.DateTime()
    until = fields.DateTime()


class DisruptionSectionSchema(Schema):
    setting = fields.String()
    policy = fields.String()
    verdict = fields.String()
    blocking = fields.Boolean()
    reason = fields.String()
    runs = fields.Integer()
    history = fields.List(fields.Nested(HistoryUsedSchema))
    policies = fields.List(fields.Nested(PolicyResultSchema))
    single_run_checked = fields.Integer()
    single_run = fields.List(fields.Nested(RunCheckSchema))
