"""Schemas of the disruption and alert baselines (SPEC §9)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api.disruption.model import MeasurementKind
from api.schemas.common import PageQuery, WholeNumber, control_free_string

KINDS = tuple(kind.value for kind in MeasurementKind)
VARIANT_FILTERS = ("release", "from_release", "platform", "architecture", "network",
                   "topology", "master_nodes_updated")


def _filter() -> fields.String:
    return control_free_string(max_length=1024, load_default=None)


class DisruptionBaselineComputeSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    window_days = WholeNumber(load_default=30, validate=validate.Range(min=1, max=3650))
    note = control_free_string(max_length=1000, load_default="")


class DisruptionBaselineQuery(PageQuery):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "origin")))
    name = _filter()
    namespace = _filter()
    level = _filter()
    release = _filter()
    from_release = _filter()
    platform = _filter()
    architecture = _filter()
    network = _filter()
    topology = _filter()
    master_nodes_updated = _filter()


class DisruptionBaselineVersionSchema(Schema):
    kind = fields.Function(lambda v: v.kind.value)
    version = fields.Integer()
    created_at = fields.DateTime()
    window_days = fields.Integer()
    rows = fields.Integer()
    actor = fields.String()
    note = fields.String()


def row_dump(row: Any) -> dict[str, Any]:
    """A baseline row as JSON: key, variant, runs and the distribution (floats)."""
    v = row.variant
    return {"kind": row.key.kind.value, "name": row.key.name, "namespace": row.key.namespace,
            "level": row.key.level,
            "variant": {name: getattr(v, name) for name in VARIANT_FILTERS},
            "job_runs": row.job_runs, "p50": row.p50, "p75": row.p75, "p95": row.p95,
            "p99": row.p99, "mean": row.mean, "stddev": row.stddev}
