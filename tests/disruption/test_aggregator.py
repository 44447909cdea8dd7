"""The aggregator's payload rules per key (ci-tools' pass_fail.go), check by check."""

from __future__ import annotations

import numpy as np
import pytest

from api.disruption import aggregator
from api.disruption.checks import CheckStatus, PayloadCheck, payload_seconds
from api.disruption.history import KeyHistory
from api.disruption.model import MeasurementKey, MeasurementKind, RunMeasurements, Variant

KEY = MeasurementKey(MeasurementKind.DISRUPTIONS, "kube-api-new-connections")
ALERT = MeasurementKey(MeasurementKind.ALERTS, "etcdMembersDown", "openshift-etcd", "Critical")
HA = Variant("4.16", "4.15", "aws", "amd64", "ovn", "ha")
HISTORY = np.array([0] * 60 + [1] * 10 + [2] * 10 + [4] * 10 + [8] * 10)  # P70 1.3, P85 4


def runs(*seconds: int, key: MeasurementKey = KEY, variant: Variant = HA
         ) -> list[RunMeasurements]:
    return [RunMeasurements("job", f"r{i}", variant, {key: s}) for i, s in enumerate(seconds)]


def check(result_checks: tuple[PayloadCheck, ...], name: str,
          key: MeasurementKey = KEY) -> PayloadCheck:
    return next(c for c in result_checks if c.check == name and c.key == key)


def test_thresholds_are_continuous_percentiles() -> None:
    result = aggregator.evaluate(runs(*[0] * 10), {KEY: HISTORY})
    assert check(result.checks, "P85 should not be worse").threshold == 4.0
    # P70 sits between the 70th (1 s) and 71st (2 s) of 100 values: 69.3 -> 1.3 s
    assert check(result.checks, "P70 should not be worse").threshold == pytest.approx(1.3)


def test_required_passes_with_pity_and_the_missed_by_one() -> None:
    # 10 runs, P85: table 5, pity min(5, 8) leaves it, minus one -> 4
    seconds = [(f"r{i}", 0 if i < 4 else 50) for i in range(10)]
    got = aggregator.check_percentile(KEY, 85, 0.0, 4.0, seconds)
    assert got.status is CheckStatus.PASS and "required passes 4" in got.reason
    got = aggregator.check_percentile(KEY, 85, 0.0, 4.0, [*seconds[1:], ("r0", 50)])
    assert got.status is CheckStatus.FAIL
    assert "passed 3 times, failed 7 times" in got.reason
    # 3 runs at P99: strict 2 is lowered by the pity to 1, and not by one more
    assert aggregator._required(3, 99, 2) == 1
    assert aggregator._required(10, 99, 2) == 7


def test_grace_rejudges_a_failure_once() -> None:
    seconds = [(f"r{i}", 11) for i in range(10)]  # all above P85 (4 s), within 4 + 7
    got = aggregator.check_percentile(KEY, 85, 7.0, 4.0, seconds)
    assert got.status is CheckStatus.PASS and "(grace 7s)" in got.reason
    worse = aggregator.check_percentile(KEY, 85, 7.0, 4.0, [(f"r{i}", 12) for i in range(10)])
    assert worse.status is CheckStatus.FAIL
    assert "zero successful runs" in worse.reason and "r0=12s" in worse.reason
    assert {r.passed for r in worse.runs} == {False}


def test_too_few_runs_cannot_latch_and_skip() -> None:
    got = aggregator.check_percentile(KEY, 70, 3.0, 1.3, [("a", 99), ("b", 99)])
    assert got.status is CheckStatus.SKIPPED and "cannot latch" in got.reason


def test_mean_plus_five_stddev_with_the_mulligan() -> None:
    history = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]  # mean .2, sd .42 -> 2.31 s
    one_outlier = [(f"r{i}", 0) for i in range(9)] + [("bad", 200)]
    got = aggregator.check_mean(KEY, KeyHistory.of(history), one_outlier)
    assert got.status is CheckStatus.PASS and "dropped one outlier of 200s" in got.reason
    two = [*one_outlier[:-2], ("bad", 200), ("worse", 200)]
    got = aggregator.check_mean(KEY, KeyHistory.of(history), two)
    assert got.status is CheckStatus.FAIL and got.threshold == pytest.approx(
        0.2 + 5 * float(np.std(history, ddof=1)))


def test_mean_threshold_is_at_least_one_second() -> None:
    got = aggregator.check_mean(KEY, KeyHistory.of([0] * 50), [(f"r{i}", 1) for i in range(10)])
    assert got.threshold == 1.0 and got.status is CheckStatus.PASS


def test_doubled_disruption_on_5_of_10_runs_fails_a_good_payload_passes() -> None:
    # a backend with a steady 10-12 s of disruption per run (mean 11 s, threshold ~15 s)
    history = np.array([10, 11, 12] * 40)
    good = aggregator.evaluate(runs(10, 11, 12, 11, 10, 12, 11, 10, 11, 12), {KEY: history})
    assert good.status is CheckStatus.PASS
    doubled = aggregator.evaluate(runs(20, 22, 24, 22, 20, 12, 11, 10, 11, 12), {KEY: history})
    assert doubled.status is CheckStatus.FAIL
    assert check(doubled.checks, aggregator.MEAN_CHECK).status is CheckStatus.FAIL


def test_alerts_are_aggregated_the_same_way() -> None:
    history = np.zeros(100)
    result = aggregator.evaluate(runs(*[120] * 10, key=ALERT), {ALERT: history})
    assert check(result.checks, "P85 should not be worse", ALERT).status is CheckStatus.FAIL


def test_single_node_and_keys_without_history_are_skipped() -> None:
    single = Variant("4.16", "", "aws", "amd64", "ovn", "single")
    result = aggregator.evaluate(runs(*[99] * 10, variant=single), {KEY: HISTORY})
    assert result.status is CheckStatus.SKIPPED
    assert {c.reason for c in result.checks} == {"not judged for single-node jobs"}
    fresh = aggregator.evaluate(runs(*[99] * 10), {}, history_note="previous release's job")
    assert fresh.status is CheckStatus.SKIPPED
    assert all(c.reason == "previous release's job: we have no historical data"
               for c in fresh.checks)


def test_fewer_than_three_runs_with_data_fails_collection() -> None:
    two = [*runs(0, 0), RunMeasurements("job", "junit-only", HA, {})]
    result = aggregator.evaluate(two, {KEY: HISTORY})
    got = check(result.checks, aggregator.COLLECT_CHECK, MeasurementKey(KEY.kind, ""))
    assert got.status is CheckStatus.FAIL
    assert "2 of 3 runs have measurements for disruptions" in got.reason


def test_a_run_missing_a_known_key_counts_zero() -> None:
    other = MeasurementKey(MeasurementKind.DISRUPTIONS, "oauth-api-new-connections")
    payload = [RunMeasurements("job", f"r{i}", HA, {other: 1}) for i in range(10)]
    result = aggregator.evaluate(payload, {KEY: HISTORY, other: np.ones(10)})
    assert {r.seconds for r in check(result.checks, "P70 should not be worse").runs} == {0}


def test_a_run_without_alerts_counts_zero_for_every_alert() -> None:
    clean = RunMeasurements("job", "clean", HA, {KEY: 3})  # its alerts file named none
    fired = RunMeasurements("job", "fired", HA, {KEY: 1, ALERT: 60})
    nothing = RunMeasurements("job", "junit-only", HA, {})
    got = payload_seconds([clean, fired, nothing], [ALERT])
    assert got[ALERT] == (("clean", 0), ("fired", 60))
