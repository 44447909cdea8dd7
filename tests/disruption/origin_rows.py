"""Origin's ``query_results.json`` rows as :class:`BaselineRow` s, for the judges' tests."""

from __future__ import annotations

import json
from typing import Any

from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant
from tests.fixtures import shared_fixtures

DISRUPTIONS_00C213 = ("allowedbackenddisruption_query_results__origin_"
                      "00c213426f534ac8917808ec98b72d641104f85d.json")
ALERTS_20DEF7 = ("allowedalerts_query_results__origin_"
                 "20def73ea61d5e0a804fa77341f1d004e0206036.json")


def _row(r: dict[str, Any]) -> BaselineRow:
    if "AlertName" in r:
        key = MeasurementKey(MeasurementKind.ALERTS, r["AlertName"], r.get("AlertNamespace", ""),
                             r.get("AlertLevel", ""))
    else:
        key = MeasurementKey(MeasurementKind.DISRUPTIONS, r["BackendName"])
    return BaselineRow(
        key=key,
        variant=Variant(r["Release"], r["FromRelease"], r["Platform"], r["Architecture"],
                        r["Network"], r["Topology"], r.get("MasterNodesUpdated", "")),
        # the older alert layout has no JobRuns: origin's decoder reads 0
        job_runs=int(r.get("JobRuns", 0)), p95=float(r["P95"]), p99=float(r["P99"]),
        p50=float(r["P50"]) if "P50" in r else None, p75=float(r["P75"]) if "P75" in r else None)


def origin_rows(name: str) -> list[BaselineRow]:
    return [_row(r) for r in json.loads(shared_fixtures("openshift", name).read_text())]
