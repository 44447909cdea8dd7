"""Origin's ``query_results.json`` (SPEC §9): reading and writing it, exactly. Pure.

The format, as the real files in ``shared/fixtures/openshift/`` show it (and as
``docs/disruption.md`` documents it for the client-side twin):

* A JSON array of flat objects, indented by 2 spaces (Go's ``json.MarshalIndent``, which also
  escapes ``<``, ``>`` and ``&`` as ``\\u003c``, ``\\u003e``, ``\\u0026``); no trailing newline.
* Field order is a *layout*. Disruptions, newer: ``BackendName, Release, FromRelease, Platform,
  Architecture, Network, Topology, MasterNodesUpdated, JobRuns, P95, P99, P75, P50``; older:
  the same without ``MasterNodesUpdated``, ``P75``, ``P50``. Alerts, older: ``AlertName,
  Release, FromRelease, Architecture, Platform, Network, Topology, P95, P99`` (no ``JobRuns``);
  flakegate writes alerts as ``AlertName, AlertNamespace, AlertLevel`` followed by the newer
  disruption layout's fields.
* ``JobRuns`` is a number; percentiles are strings of seconds, formatted as BigQuery casts a
  FLOAT64 to STRING (15 significant digits when that reads back as the same double, else 17),
  with ".0" forced on whole numbers: all 19,732 percentiles of the four real files reproduce.
* Row order (:func:`origin_sort_key`): by name (then namespace and level), then FromRelease with
  "" (no upgrade) *last*, then Release, Architecture, Platform, Network, Topology,
  MasterNodesUpdated. All three real disruption files are in exactly this order. The older
  alerts file is not (it orders by Release, FromRelease, Topology, Platform, Network and leaves
  architectures in query order), so it is reproduced in its own order, not re-sorted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant

_VARIANT = {"Release": "release", "FromRelease": "from_release", "Platform": "platform",
            "Architecture": "architecture", "Network": "network", "Topology": "topology",
            "MasterNodesUpdated": "master_nodes_updated"}
_PERCENTILES = {"P50": "p50", "P75": "p75", "P95": "p95", "P99": "p99"}

DISRUPTIONS_LAYOUT = ("BackendName", "Release", "FromRelease", "Platform", "Architecture",
                      "Network", "Topology", "MasterNodesUpdated", "JobRuns", "P95", "P99",
                      "P75", "P50")
ALERTS_LAYOUT = ("AlertName", "AlertNamespace", "AlertLevel", *DISRUPTIONS_LAYOUT[1:])
LAYOUTS = {MeasurementKind.DISRUPTIONS: DISRUPTIONS_LAYOUT,
           MeasurementKind.ALERTS: ALERTS_LAYOUT}


class OriginFormatError(ValueError):
    """The text is not a query_results.json this module can read."""


def format_seconds(value: float) -> str:
    """A percentile as origin writes it: BigQuery's FLOAT64-to-STRING, whole numbers with
    ".0" (``2.8``, ``87.56``, ``0.0``, ``0.88999999999999635``)."""
    text = format(value, ".15g")
    if float(text) != value:
        text = format(value, ".17g")
    if "." not in text and "e" not in text and text.lstrip("-").isdigit():
        text += ".0"
    return text


def origin_sort_key(row: BaselineRow) -> tuple[Any, ...]:
    v = row.variant
    return (row.key.name, row.key.namespace, row.key.level, v.from_release == "",
            v.from_release, v.release, v.architecture, v.platform, v.network, v.topology,
            v.master_nodes_updated)


def sort_rows(rows: Sequence[BaselineRow]) -> list[BaselineRow]:
    return sorted(rows, key=origin_sort_key)


def _field(row: BaselineRow, name: str) -> Any:
    if name in ("BackendName", "AlertName"):
        return row.key.name
    if name == "AlertNamespace":
        return row.key.namespace
    if name == "AlertLevel":
        return row.key.level
    if name in _VARIANT:
        return getattr(row.variant, _VARIANT[name])
    if name == "JobRuns":
        return row.job_runs
    if name in _PERCENTILES:
        value = getattr(row, _PERCENTILES[name])
        return format_seconds(0.0 if value is None else float(value))
    raise ValueError(f"unknown origin field {name!r}")


def render(rows: Sequence[BaselineRow], layout: Sequence[str]) -> str:
    """The rows, in the order given, as origin's file text in ``layout``."""
    body = [{name: _field(row, name) for name in layout} for row in rows]
    text = json.dumps(body, indent=2, ensure_ascii=False)
    # Go's encoder escapes these three inside strings; nowhere else can they occur in JSON.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_version(rows: Sequence[BaselineRow], kind: MeasurementKind) -> str:
    """A flakegate baseline version in origin's form: the kind's layout, origin's order."""
    return render(sort_rows(rows), LAYOUTS[kind])


def parse(text: str) -> tuple[list[BaselineRow], tuple[str, ...]]:
    """The rows of a query_results.json, in file order, and its layout (the first row's field
    names). Missing percentiles read as ``None`` (P50, P75) and a missing JobRuns as 0."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OriginFormatError(f"not JSON: {exc}") from None
    if not isinstance(document, list):
        raise OriginFormatError("expected a JSON array of rows")
    rows = [_row(item, i) for i, item in enumerate(document)]
    layout = tuple(document[0]) if document else ()
    return rows, layout


def _row(item: Any, index: int) -> BaselineRow:
    if not isinstance(item, dict):
        raise OriginFormatError(f"row {index} is not an object")
    try:
        if "BackendName" in item:
            key = MeasurementKey(MeasurementKind.DISRUPTIONS, str(item["BackendName"]))
        else:
            key = MeasurementKey(MeasurementKind.ALERTS, str(item["AlertName"]),
                                 str(item.get("AlertNamespace", "")),
                                 str(item.get("AlertLevel", "")))
        variant = Variant(**{attr: str(item.get(name, "")) for name, attr in _VARIANT.items()})
        values = {attr: None if name not in item else float(item[name])
                  for name, attr in _PERCENTILES.items()}
        if values["p95"] is None or values["p99"] is None:
            raise KeyError("P95 and P99")
        return BaselineRow(key=key, variant=variant, job_runs=int(item.get("JobRuns", 0)),
                           p95=values["p95"], p99=values["p99"], p50=values["p50"],
                           p75=values["p75"])
    except (KeyError, TypeError, ValueError) as exc:
        raise OriginFormatError(f"row {index}: missing or malformed {exc}") from None
