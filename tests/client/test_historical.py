"""``flakegate analyze-historical-data``: origin's refresh comparison, on origin's own files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant
from api.store import open_store
from client.cli import main
from client.exit_status import ExitStatus
from client.historical import compare, origin_json, pr_message, row_key
from tests.fixtures import shared_fixtures
from tests.live_server import LiveServer

OLDER = ("allowedbackenddisruption_query_results__origin_"
         "f99d89de8bd3bb601487d41f7537223fca4798d8.json")
NEWER = ("allowedbackenddisruption_query_results__origin_"
         "fbe560a1d6af75d7572fd961e1d0eff9b8bfc60a.json")
BASE = "http://flakegate.test"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("FLAKEGATE_URL", "FLAKEGATE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLAKEGATE_RETRIES", "0")
    monkeypatch.chdir(tmp_path)


def row(name: str, p95: str, p99: str, runs: int = 200, **variant: str) -> dict[str, Any]:
    fields = {"Release": "4.16", "FromRelease": "4.15", "Platform": "aws",
              "Architecture": "amd64", "Network": "ovn", "Topology": "ha", **variant}
    return {"BackendName": name, **fields, "JobRuns": runs, "P95": p95, "P99": p99}


def test_on_origins_two_versions(tmp_path: Path) -> None:
    current, new = shared_fixtures("openshift", OLDER), shared_fixtures("openshift", NEWER)
    status = main(["analyze-historical-data", "--current", str(current), "--new", str(new),
                   "--data-type", "disruptions", "--leeway", "30"])
    assert status == ExitStatus.OK
    written = (tmp_path / "results_disruptions.json").read_text()
    new_rows = json.loads(new.read_text(), object_pairs_hook=list)
    out_rows = json.loads(written, object_pairs_hook=list)
    # the new data, every row exactly as read (field order, strings), sorted by ci-tools' key
    assert sorted(map(str, out_rows)) == sorted(map(str, new_rows))
    keys = [row_key(dict(r), "disruptions") for r in out_rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert not written.endswith("\n") and written.startswith("[\n  {\n    \"BackendName\"")
    old_keys = {row_key(r, "disruptions") for r in json.loads(current.read_text())}
    message = (tmp_path / "pr_message.md").read_text()
    added, removed = len(set(keys) - old_keys), len(old_keys - set(keys))
    assert f"There were (`{added}`) added jobs and (`{removed}`) were removed." in message
    assert "| Name | Release |" in message and "### Missing Data" in message
    assert "increased in duration beyond specified leeway of 30.00%" in (
        tmp_path / "require_review").read_text()


def test_leeway_increases_decreases_and_old_zero() -> None:
    current = [row("a", "1.0", "10.0"), row("b", "1.0", "10.0"), row("c", "1.0", "10.0"),
               row("d", "0.0", "0.0"), row("gone", "1.0", "1.0")]
    new = [row("a", "3.0", "13.5"), row("b", "1.0", "12.9"), row("c", "1.0", "9.9"),
           row("d", "5.0", "50.0"), row("fresh", "1.0", "1.0")]
    result = compare(current, new, "disruptions", 30)
    by_name = {c.row["BackendName"]: c for c in result.rows}
    assert by_name["a"].p99_percent == pytest.approx(35.0) and by_name["a"].p95_increase == 2.0
    assert by_name["b"].p99_increase == 0.0  # 29% is within the leeway
    assert by_name["d"].p99_increase == 0.0  # from 0: percent is 0, as ci-tools computes it
    assert (result.increased, result.decreased) == (1, 1)
    assert result.added == (row_key(new[-1], "disruptions"),)
    assert [c.row["BackendName"] for c in result.missing] == ["gone"]
    assert "gone" not in {c.row["BackendName"] for c in result.rows}  # new data wins
    assert result.requires_review


def test_table_lists_rows_of_100_runs_by_p95_increase_and_escapes_names() -> None:
    current = [row("x|y", "1.0", "10.0"), row("small", "1.0", "10.0", runs=99),
               row("z", "1.0", "10.0")]
    new = [row("x|y", "2.0", "20.0"), row("small", "9.0", "90.0", runs=99),
           row("z", "5.0", "20.0")]
    message = pr_message(compare(current, new, "disruptions", 30))
    table = [line for line in message.splitlines() if line.endswith("% |")]
    assert [line.split(" | ")[0] for line in table] == ["| z", "| x\\|y"]
    assert "small" not in message


def test_alert_keys_include_namespace_and_level() -> None:
    alert = {"AlertName": "A", "AlertNamespace": "ns", "AlertLevel": "Warning", "Release": "4.16",
             "FromRelease": "", "Architecture": "amd64", "Platform": "aws", "Network": "ovn",
             "Topology": "ha", "P95": "1.0", "P99": "2.0"}
    critical = {**alert, "AlertLevel": "Critical"}
    result = compare([alert], [alert, critical], "alerts", 30)
    assert len(result.added) == 1 and not result.requires_review
    assert row_key(alert, "alerts") == "A_ns_Warning__4.16_amd64_aws_ovn_ha"


def test_no_review_file_when_nothing_counted(tmp_path: Path) -> None:
    same = tmp_path / "same.json"
    same.write_text(json.dumps([row("a", "1.0", "2.0")]))
    assert main(["analyze-historical-data", "--current", str(same), "--new", str(same),
                 "--data-type", "disruptions", "--output-file", "out.json"]) == ExitStatus.OK
    assert not (tmp_path / "require_review").exists() and (tmp_path / "out.json").exists()


def test_go_escapes_in_output() -> None:
    assert origin_json([{"BackendName": "a<b>&c"}]) == \
        '[\n  {\n    "BackendName": "a\\u003cb\\u003e\\u0026c"\n  }\n]'


def test_bad_input_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    status = main(["analyze-historical-data", "--current", str(bad), "--new", str(bad),
                   "--data-type", "alerts"])
    assert status == ExitStatus.ERROR
    assert "not a query_results.json" in capsys.readouterr().err


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def test_new_omitted_reads_the_servers_current_baseline(tmp_path: Path,
                                                        mocked: responses.RequestsMock) -> None:
    current = tmp_path / "current.json"
    current.write_text(json.dumps([row("a", "1.0", "2.0")]))
    mocked.get(f"{BASE}/disruption/baselines?kind=disruptions&format=origin",
               json=[row("a", "1.0", "4.0")])
    assert main(["analyze-historical-data", "--current", str(current), "--data-type",
                 "disruptions", "--url", BASE]) == ExitStatus.OK
    assert json.loads((tmp_path / "results_disruptions.json").read_text())[0]["P99"] == "4.0"


@pytest.mark.slow
def test_new_omitted_against_a_live_server(tmp_path: Path, live: LiveServer) -> None:
    store = open_store(live.database_url)
    rows = [BaselineRow(MeasurementKey(MeasurementKind.DISRUPTIONS, "kube-api-new-connections"),
                        Variant("4.16", "", "aws", "amd64", "ovn", "ha", "N"), 150, 3.0, 9.0)]
    store.disruption.put_baseline_version(MeasurementKind.DISRUPTIONS, rows, window_days=30,
                                          created=datetime.now(UTC))
    store.close()
    current = tmp_path / "current.json"
    current.write_text(json.dumps([row("kube-api-new-connections", "3.0", "5.0",
                                       FromRelease="")]))
    assert main(["analyze-historical-data", "--current", str(current), "--data-type",
                 "disruptions", "--url", live.url, "--token", live.admin_token]) == ExitStatus.OK
    written = json.loads((tmp_path / "results_disruptions.json").read_text())
    assert [(r["BackendName"], r["P99"], r["JobRuns"]) for r in written] == [
        ("kube-api-new-connections", "9.0", 150)]
    assert "had (1) results increased" in (tmp_path / "require_review").read_text()
