"""The policy registry and entry point."""

from __future__ import annotations

import pytest

import api.stats as stats
from api.stats import policies
from api.stats.types import PolicyResult, Prior, Verdict
from tests.stats.helpers import baseline, baselines, tally


def test_registry_and_default() -> None:
    assert set(policies.POLICIES) == {"aggregator", "stddev", "bayes"}
    assert policies.DEFAULT_POLICY == "bayes"
    assert policies.KNOBS["bayes"]["budget"] == 0.01
    assert policies.KNOBS["stddev"] == {"z": 1.0, "tiny_history": 20}
    assert policies.KNOBS["aggregator"]["min_attempts"] == 6


def test_evaluate_dispatches_by_name_with_knobs() -> None:
    history = baselines(baseline("t", runs=100, failures=10))
    evidence = [tally("t", passes=7, failures=3)]
    assert policies.evaluate("stddev", evidence, history).verdict is Verdict.FAIL
    assert policies.evaluate("stddev", evidence, history, z=3.0).verdict is Verdict.PASS
    default = policies.evaluate(None, evidence, history, Prior(1.0, 20.0))
    assert isinstance(default, PolicyResult) and default.policy == "bayes"


def test_unknown_policy_and_knob_are_rejected() -> None:
    with pytest.raises(policies.UnknownPolicy):
        policies.evaluate("magic", [], None)
    with pytest.raises(policies.UnknownKnob):
        policies.evaluate("stddev", [], None, budget=0.1)
    policies.validate("bayes", {"budget": 0.02, "safety": 0.0})


def test_empty_evidence_passes_everywhere() -> None:
    for name in policies.POLICIES:
        result = policies.evaluate(name, [], None)
        assert result.verdict is Verdict.PASS and result.tests_checked == 0


def test_note_counts_and_package_exports() -> None:
    result = policies.evaluate("bayes", [tally("a", skips=2), tally("b", passes=2)], None)
    assert result.note_counts == {"did_not_run": 1, "new_test": 1}
    for name in stats.__all__:
        assert hasattr(stats, name)
