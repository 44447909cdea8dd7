"""The payload runs built once per verdict (``judged_runs``) and shared by both policies."""

from __future__ import annotations

from types import ModuleType

import pytest

from api.disruption import aggregator, bayes
from api.disruption.checks import KeyRuns, RunSeconds, judged_runs
from api.disruption.history import KeyHistory
from api.disruption.model import MeasurementKey, MeasurementKind, RunMeasurements, Variant

D = MeasurementKey(MeasurementKind.DISRUPTIONS, "kube-api-new-connections")
OLD = MeasurementKey(MeasurementKind.DISRUPTIONS, "only-in-history")
ALERT = MeasurementKey(MeasurementKind.ALERTS, "etcdMembersDown", "openshift-etcd", "Critical")
HA = Variant("4.16", "4.15", "aws", "amd64", "ovn", "ha")
RUNS = [RunMeasurements("job", "r0", HA, {D: 0, ALERT: 30}),
        RunMeasurements("job", "r1", HA, {D: 12}),
        RunMeasurements("job", "r2", HA, {D: 3}),
        RunMeasurements("job", "nothing", HA, {})]
HISTORY = {D: KeyHistory.of([0] * 60 + [1, 2, 3, 5, 8]), OLD: KeyHistory.of([0] * 40 + [4])}


def test_keys_are_the_history_and_the_runs_sorted_with_zeros_for_unnamed_keys() -> None:
    found = judged_runs(RUNS, HISTORY)
    assert list(found) == sorted([D, OLD, ALERT])
    assert found[OLD].seconds == [0, 0, 0]  # the run that measured nothing is no evidence
    assert found[ALERT].at_most(10) == (RunSeconds("r0", 30, False), RunSeconds("r1", 0, True),
                                        RunSeconds("r2", 0, True))
    assert found[D].below(3) == (RunSeconds("r0", 0, True), RunSeconds("r1", 12, False),
                                 RunSeconds("r2", 3, False))
    assert found[D].passing() == tuple(RunSeconds(r, s, True)
                                       for r, s in [("r0", 0), ("r1", 12), ("r2", 3)])
    assert len(KeyRuns([])) == 0


@pytest.mark.parametrize("policy", [bayes, aggregator])
def test_a_policy_given_the_shared_runs_judges_as_without(policy: ModuleType) -> None:
    alone = policy.evaluate(RUNS, HISTORY, history_note="note")
    shared = policy.evaluate(RUNS, HISTORY, history_note="note",
                             payload=judged_runs(RUNS, HISTORY))
    assert shared == alone
    assert {c.key for c in alone.checks} >= {D, OLD, ALERT}
