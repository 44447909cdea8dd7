"""The ``bayes`` disruption policy: calibrated levels, the budget, the total-seconds check."""

from __future__ import annotations

import numpy as np
import pytest

from api.disruption import bayes
from api.disruption.checks import CheckStatus
from api.disruption.history import KeyHistory
from api.disruption.model import MeasurementKey, MeasurementKind, RunMeasurements, Variant

KEY = MeasurementKey(MeasurementKind.DISRUPTIONS, "kube-api-new-connections")
ALERT = MeasurementKey(MeasurementKind.ALERTS, "etcdMembersDown", "openshift-etcd", "Critical")
HA = Variant("4.16", "4.15", "aws", "amd64", "ovn", "ha")
ZERO_INFLATED = [0] * 70 + [1] * 10 + [2] * 5 + [3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40,
                                                   60, 90]


def runs(*seconds: int, key: MeasurementKey = KEY) -> list[RunMeasurements]:
    return [RunMeasurements("job", f"r{i}", HA, {key: s}) for i, s in enumerate(seconds)]


def test_levels_are_one_second_every_past_value_and_beyond_the_past() -> None:
    assert bayes.levels(KeyHistory.of([0, 0, 3, 3, 7])) == [1, 3, 7, 8]
    assert bayes.levels(KeyHistory.of([0] * 50)) == [1]
    many = KeyHistory.of(list(range(100)))
    assert len(bayes.levels(many)) <= len(bayes.QUANTILES) + 2


def test_total_tail_is_the_convolution_of_the_past() -> None:
    history = KeyHistory.of([0, 1])  # with the atom at cap 2: P = (1/3, 1/3, 1/3)
    assert bayes.total_tail(history, 2, 0) == pytest.approx(1.0)
    assert bayes.total_tail(history, 2, 4) == pytest.approx(1 / 9)
    assert bayes.total_tail(history, 2, 3) == pytest.approx(3 / 9)
    assert bayes.total_tail(history, 2, 5) == 0.0


def test_good_payloads_are_blocked_at_most_at_the_budget() -> None:
    rng = np.random.default_rng(7)
    history = {MeasurementKey(MeasurementKind.DISRUPTIONS, f"b{i}"): ZERO_INFLATED
               for i in range(10)}
    blocked = 0
    for _ in range(200):
        payload = [RunMeasurements("job", f"r{j}", HA,
                                   {key: int(rng.choice(ZERO_INFLATED)) for key in history})
                   for j in range(10)]
        blocked += bayes.evaluate(payload, history).status is CheckStatus.FAIL
    assert blocked / 200 <= 0.025  # 1% budget; 200 draws


def test_plus_ten_seconds_on_five_runs_is_caught() -> None:
    result = bayes.evaluate(runs(10, 11, 10, 12, 10), {KEY: ZERO_INFLATED})
    assert result.status is CheckStatus.FAIL
    failed = result.failed[0]
    assert "at or above" in failed.reason and "blocks" in failed.reason
    assert {r.seconds for r in failed.runs if not r.passed} >= {10, 11, 12}


def test_doubled_disruption_on_5_of_10_runs_fails_a_good_payload_passes() -> None:
    history = {KEY: [10, 11, 12] * 40}
    assert bayes.evaluate(runs(10, 11, 12, 11, 10, 12, 11, 10, 11, 12), history).status \
        is CheckStatus.PASS
    doubled = bayes.evaluate(runs(20, 22, 24, 22, 20, 12, 11, 10, 11, 12), history)
    assert doubled.status is CheckStatus.FAIL
    assert "5 of 10 runs at or above 13s" in doubled.failed[0].reason


def test_an_alert_firing_at_its_old_p99_is_caught() -> None:
    history = [0] * 95 + [120] * 5
    result = bayes.evaluate(runs(*[120] * 10, key=ALERT), {ALERT: history})
    assert result.status is CheckStatus.FAIL


def test_no_history_and_too_little_budget_skip() -> None:
    fresh = bayes.evaluate(runs(99, 99, 99), {})
    assert fresh.status is CheckStatus.SKIPPED
    assert fresh.checks[0].reason == "we have no historical data"
    # one run of a key whose past is all over the place cannot be judged at 1%
    wild = bayes.evaluate(runs(5), {KEY: list(range(10))}, budget=0.01)
    count = next(c for c in wild.checks if c.check == bayes.CHECK)
    assert count.status is CheckStatus.SKIPPED and "cannot show a regression" in count.reason
