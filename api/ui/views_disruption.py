"""``/ui/disruption``: disruption and alert baselines by key and variant, across versions, and
what a run or a payload measured against them (data from :mod:`api.services.disruption_page`).
"""

from __future__ import annotations

import json
from typing import Any

from flask import render_template
from marshmallow import Schema, ValidationError, fields, validate

from api.db import get_store
from api.disruption.model import MeasurementKey, MeasurementKind
from api.routes.common import load_query
from api.schemas.common import control_free_string, name_field
from api.services.disruption_page import VARIANT_FIELDS, disruption_page, key_label, variant_label
from api.ui.blueprint import bp
from api.ui.charts import chart
from api.ui.session import page

PERCENTILES = ("p50", "p75", "p95", "p99")


class DisruptionQuery(Schema):
    kind = fields.String(load_default=MeasurementKind.DISRUPTIONS.value,
                         validate=validate.OneOf([k.value for k in MeasurementKind]))
    key = control_free_string(max_length=4096, load_default=None)  # key_param()
    variant = control_free_string(max_length=4096, load_default=None)
    job = name_field(load_default=None)
    run = name_field(load_default=None)
    payload = name_field(load_default=None)


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def key_param(key: MeasurementKey) -> str:
    """A key as the page's ``key`` parameter: JSON keeps name, namespace and level apart
    whatever they hold."""
    return json.dumps([key.name, key.namespace, key.level], ensure_ascii=False)


def parse_key(kind: MeasurementKind, raw: str) -> MeasurementKey:
    try:
        parts = json.loads(raw)
    except ValueError:
        parts = None
    if not (isinstance(parts, list) and len(parts) == 3
            and all(isinstance(part, str) for part in parts)):
        raise ValidationError({"key": ["must be a key as the page's own links give it"]})
    return MeasurementKey(kind, *parts)


@bp.get("/disruption")
@page()
def disruption_view() -> str:
    query = load_query(DisruptionQuery())
    kind = MeasurementKind(query["kind"])
    key = parse_key(kind, query["key"]) if query["key"] else None
    run = (query["job"], query["run"]) if query["job"] and query["run"] else None
    shown = disruption_page(get_store(), kind,
                            key=key, variant=query["variant"], run=run,
                            payload=query["payload"])
    charts: dict[str, Any] = {}
    if shown.rows:
        rows = shown.rows[:30]
        charts["variants"] = chart(
            "by-variant", f"{key_label(shown.rows[0].key)}: newest version by variant (seconds)",
            x_label="Variant", x=[variant_label(r.variant) for r in rows],
            series=[(p.upper(), [_round(getattr(r, p)) for r in rows]) for p in PERCENTILES],
            y_label="seconds")
    if shown.across:
        charts["versions"] = chart(
            "across-versions", "The chosen variant across baseline versions (seconds)",
            x_label="Version", x=[f"v{p.version.version}" for p in shown.across],
            series=[(p.upper(), [_round(getattr(point.row, p)) if point.row else None
                                 for point in shown.across]) for p in PERCENTILES],
            y_label="seconds")
    return render_template("disruption.html", page=shown, charts=charts, query=query,
                           kinds=[k.value for k in MeasurementKind], key_label=key_label,
                           key_param=key_param,
                           variant_label=variant_label, variant_fields=VARIANT_FIELDS,
                           percentiles=PERCENTILES)
