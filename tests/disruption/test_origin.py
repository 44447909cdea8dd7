"""Origin's query_results.json (api/disruption/origin.py) against the real files."""

from __future__ import annotations

import pytest

from api.disruption import origin
from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant
from tests.fixtures import SHARED_FIXTURES

OPENSHIFT = SHARED_FIXTURES / "openshift"
FILES = sorted(OPENSHIFT.glob("*query_results*.json"))


def test_the_real_files_are_there() -> None:
    assert len(FILES) == 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:40])
def test_each_real_file_round_trips_byte_for_byte(path: object) -> None:
    text = path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    rows, layout = origin.parse(text)
    # The one difference: the older alerts file ends with a newline (Go's encoder writes none).
    assert origin.render(rows, layout) == text.removesuffix("\n")


@pytest.mark.parametrize("path", [p for p in FILES if "backenddisruption" in p.name],
                         ids=lambda p: p.name[:40])
def test_origin_order_reproduces_every_disruption_file(path: object) -> None:
    rows, _ = origin.parse(path.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    assert origin.sort_rows(list(reversed(rows))) == rows


def test_newer_layout_is_flakegates_disruption_layout() -> None:
    newer = next(p for p in FILES if "00c213426" in p.name)
    rows, layout = origin.parse(newer.read_text(encoding="utf-8"))
    assert layout == origin.DISRUPTIONS_LAYOUT
    assert origin.render_version(list(reversed(rows)), MeasurementKind.DISRUPTIONS) == \
        newer.read_text(encoding="utf-8")


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0.0"), (299.0, "299.0"), (2.8, "2.8"), (87.56, "87.56"),
    (0.88999999999999635, "0.88999999999999635"), (2582.28, "2582.28"), (1e20, "1e+20"),
])
def test_percentile_strings(value: float, text: str) -> None:
    assert origin.format_seconds(value) == text


def test_alert_rows_and_go_escapes() -> None:
    row = BaselineRow(MeasurementKey(MeasurementKind.ALERTS, "A<&>", "ns", "Warning"),
                      Variant("4.16", "", "aws", "amd64", "ovn", "ha", "N"), job_runs=3,
                      p95=1.0, p99=2.5, p50=0.0, p75=0.5)
    text = origin.render_version([row], MeasurementKind.ALERTS)
    assert '"AlertName": "A\\u003c\\u0026\\u003e"' in text
    back, layout = origin.parse(text)
    assert layout == origin.ALERTS_LAYOUT and back == [row]


@pytest.mark.parametrize("text", ["{", "{}", "[1]", '[{"BackendName": "x"}]',
                                  '[{"AlertName": "x", "P95": "a", "P99": "1"}]'])
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(origin.OriginFormatError):
        origin.parse(text)
