"""The single-run rule: graced P99 for disruption, P95/P99 for alerts, skipped without data."""

from __future__ import annotations

import pytest

from api.disruption.checks import CheckStatus
from api.disruption.matcher import index_rows
from api.disruption.model import (
    BaselineRow,
    MeasurementKey,
    MeasurementKind,
    RunMeasurements,
    Variant,
)
from api.disruption.single_run import allowed_for, allowed_seconds, judge_run, unusual

BACKEND = MeasurementKey(MeasurementKind.DISRUPTIONS, "kube-api-new-connections")
ALERT = MeasurementKey(MeasurementKind.ALERTS, "KubeAPIErrorBudgetBurn", "openshift-kube-apiserver",
                       "Critical")
HA = Variant("4.15", "", "aws", "amd64", "ovn", "ha")


@pytest.mark.parametrize("p99,topology,allowed", [
    (0.0, "ha", 6.0),          # floored at 1 s, then +5 s
    (10.0, "ha", 15.0),        # +5 s beats x1.2 below 25 s
    (50.0, "ha", 60.0),        # x1.2 beats +5 s above 25 s
    (10.0, "single", 20.0),    # +10 s
    (40.0, "single", 56.0),    # x1.4
    (10.0, "dual", 70.0),      # +60 s
    (200.0, "dual", 280.0),    # x1.4
    (0.5, "external", 6.0),
])
def test_allowed_seconds(p99: float, topology: str, allowed: float) -> None:
    assert allowed_seconds(p99, topology) == pytest.approx(allowed)


def rows(p95: float, p99: float, runs: int = 200) -> list[BaselineRow]:
    return [BaselineRow(BACKEND, HA, runs, p95, p99), BaselineRow(ALERT, HA, runs, p95, p99)]


def run(**seconds: int) -> RunMeasurements:
    return RunMeasurements("job", "r1", HA, {BACKEND: seconds.get("backend", 0),
                                             ALERT: seconds.get("alert", 0)})


def test_disruption_fails_only_above_the_graced_p99() -> None:
    index = index_rows(rows(4.0, 10.0))
    at = {c.key: c for c in judge_run(index, run(backend=15))}
    assert at[BACKEND].status is CheckStatus.PASS and at[BACKEND].allowed == 15.0
    above = {c.key: c for c in judge_run(index, run(backend=16))}[BACKEND]
    assert above.status is CheckStatus.FAIL
    assert "disrupted 16s, more than the allowed 15s" in above.reason
    assert "exact match" in above.reason


@pytest.mark.parametrize("seconds,status", [(4, CheckStatus.PASS), (5, CheckStatus.FLAKE),
                                            (10, CheckStatus.FLAKE), (11, CheckStatus.FAIL)])
def test_alerts_flake_above_p95_and_fail_above_p99(seconds: int, status: CheckStatus) -> None:
    check = {c.key: c for c in judge_run(index_rows(rows(4.0, 10.0)), run(alert=seconds))}[ALERT]
    assert check.status is status and check.allowed == 10.0


def test_no_match_skips_with_the_reason() -> None:
    checks = judge_run(index_rows(rows(4.0, 10.0, runs=50)), run(backend=999, alert=999))
    assert {c.status for c in checks} == {CheckStatus.SKIPPED}
    assert all(c.reason.startswith("no historical data for") for c in checks)


def test_known_keys_absent_from_the_run_are_judged_as_zero() -> None:
    other = MeasurementKey(MeasurementKind.DISRUPTIONS, "oauth-api-new-connections")
    only = RunMeasurements("job", "r1", HA, {BACKEND: 3})
    checks = judge_run(index_rows(rows(1, 2)), only, keys=[other])
    assert [(c.key, c.seconds) for c in checks] == [(BACKEND, 3), (other, 0)]


def test_allowed_for_reports_row_and_allowance() -> None:
    index = index_rows(rows(4.0, 10.0))
    match, allowed = allowed_for(index, BACKEND, Variant("4.15", "", "aws", "amd64", "ovn",
                                                         "single"))
    assert match.row is None and allowed is None  # single-node has no row and no fallback here
    match, allowed = allowed_for(index, BACKEND, HA)
    assert match.step == "exact" and allowed == 15.0
    assert allowed_for(index, ALERT, HA)[1] == 10.0


def test_unusual_lists_only_failures_and_flakes_and_counts_every_check() -> None:
    index = index_rows(rows(4.0, 10.0))
    payload = [RunMeasurements("job", "a", HA, {BACKEND: 3, ALERT: 5}),   # pass, flake
               RunMeasurements("job", "b", HA, {BACKEND: 16, ALERT: 0}),  # fail, pass
               RunMeasurements("job", "c", HA, {BACKEND: 0})]
    checked, found = unusual(index, payload)
    assert checked == 5
    assert [(c.run_id, c.key, c.status) for c in found] == [
        ("a", ALERT, CheckStatus.FLAKE), ("b", BACKEND, CheckStatus.FAIL)]
    assert found == tuple(c for run in payload for c in judge_run(index, run)
                          if c.status is not CheckStatus.PASS)
