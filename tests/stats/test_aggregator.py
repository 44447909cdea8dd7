"""The aggregator policy: OpenShift's rules, case by case, and the required-passes table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy.stats import fisher_exact

from api.stats import aggregator
from api.stats.types import NoteKind, Verdict
from tests.fixtures import shared_fixtures
from tests.stats.helpers import SUITE, baseline, baselines, flagged, tally

PACKAGE_TABLE = Path(aggregator.__file__).with_name("required_passes.json")


def table() -> dict[str, list[int]]:
    return json.loads(PACKAGE_TABLE.read_text())["table"]


def judge(*tallies, history=None, **knobs):
    return aggregator.evaluate(list(tallies), history, **knobs)


# -- the table ---------------------------------------------------------------------------------


def test_package_table_equals_the_shared_fixture() -> None:
    fixture = shared_fixtures("openshift", "required_passes_table.json")
    assert json.loads(PACKAGE_TABLE.read_text()) == json.loads(fixture.read_text())


def test_table_shape() -> None:
    rows = table()
    assert sorted(map(int, rows)) == list(range(13))
    assert all(len(row) == 101 for row in rows.values())


@pytest.mark.parametrize("attempts", [0, *range(3, 13)])
def test_fisher_rule_reproduces_the_table(attempts: int) -> None:
    assert aggregator.fisher_required_row(attempts) == table()[str(attempts)]


@pytest.mark.parametrize("attempts", [1, 2])
def test_hand_tuned_small_rows_are_min_one_of_first_insignificant(attempts: int) -> None:
    expected = [min(1, aggregator.first_insignificant(attempts, pct)) for pct in range(101)]
    assert table()[str(attempts)] == expected


def test_rebuilt_table_equals_the_shipped_one() -> None:
    assert aggregator._rebuilt_table() == [table()[str(n)] for n in range(13)]


@pytest.mark.parametrize(("attempts", "pct"), [(6, 0), (10, 57), (10, 99), (12, 100), (13, 93)])
def test_fisher_p_values_equal_scipy_fisher_exact(attempts: int, pct: int) -> None:
    cp = round(250 * pct / 100)
    ours = aggregator.fisher_p_values(attempts, pct)
    for x in range(attempts + 1):
        _, p = fisher_exact([[cp, x], [250 - cp, attempts - x]], alternative="greater")
        assert ours[x] == pytest.approx(p, rel=1e-9, abs=1e-15)


def test_above_twelve_attempts_uses_the_fisher_rule() -> None:
    row_20 = aggregator.fisher_required_row(20)
    assert aggregator.required_passes(20, 95) == row_20[95]
    assert aggregator.required_passes(12, 95) == table()["12"][95]
    # it continues the table sensibly: monotone in the historical rate, at most attempts - 1
    for attempts in (13, 16, 30):
        row = aggregator.fisher_required_row(attempts)
        assert row == sorted(row) and row[-1] <= attempts
        assert row[99] >= table()["12"][99]


# -- the rules -----------------------------------------------------------------------------------


def test_stable_test_passing_enough_times_passes() -> None:
    history = baselines(baseline("t", runs=200, failures=2))  # 99%
    result = judge(tally("t", passes=8, failures=2), history=history)
    assert result.verdict is Verdict.PASS and result.tests_checked == 1


def test_table_rule_with_pity_factor() -> None:
    # 10 attempts at 99%: strict table value is 8; pity: min(10 - 2, 8) = 8
    history = baselines(baseline("t", runs=100, failures=1))
    assert aggregator.required_passes(10, 99) == 8
    assert judge(tally("t", passes=8, failures=2), history=history).verdict is Verdict.PASS
    result = judge(tally("t", passes=7, failures=3), history=history)
    (reg,) = result.regressions
    assert (reg.passes, reg.failures, reg.allowed_failures) == (7, 3, 2)
    assert reg.baseline_pass_rate == pytest.approx(0.99)
    assert "required passes 8" in reg.reason
    cp = round(250 * 0.99)
    assert reg.p_value == pytest.approx(
        fisher_exact([[cp, 7], [250 - cp, 3]], alternative="greater")[1]
    )


def test_pity_factor_relaxes_the_strict_requirement() -> None:
    # 7 attempts at 100%: strict 6, pity min(7 - 2, 6) = 5 -> 5 passes are enough
    history = baselines(baseline("t", runs=200, failures=0))
    assert aggregator.required_passes(7, 100) == 6
    assert judge(tally("t", passes=5, failures=2), history=history).verdict is Verdict.PASS
    result = judge(tally("t", passes=4, failures=3), history=history)
    assert "strict 6, pity factor" in result.regressions[0].reason


def test_fewer_than_six_attempts_fails_every_test_that_ran() -> None:
    history = baselines(baseline("t", runs=200, failures=0))
    result = judge(tally("t", passes=5), history=history)
    (reg,) = result.regressions
    assert "at least 6 attempts" in reg.reason and reg.allowed_failures == 0
    assert judge(tally("t", passes=5), history=history, min_attempts=5).verdict is Verdict.PASS


def test_did_not_run_passes() -> None:
    result = judge(tally("t", skips=10))
    assert result.verdict is Verdict.PASS and result.tests_checked == 0
    assert result.notes[0].kind is NoteKind.DID_NOT_RUN


def test_no_passes_and_more_skips_than_failures_passes() -> None:
    result = judge(tally("t", failures=2, skips=8))
    assert result.verdict is Verdict.PASS
    assert result.notes[0].kind is NoteKind.INTENDED_SKIP
    # as many skips as failures is not enough
    assert judge(tally("t", failures=3, skips=3)).verdict is Verdict.FAIL


def test_no_pass_at_all_fails_even_for_a_low_historical_rate() -> None:
    history = baselines(baseline("t", runs=200, failures=150))  # 25%: strict 0
    result = judge(tally("t", failures=10), history=history)
    assert "at least one pass" in result.regressions[0].reason
    relaxed = judge(tally("t", failures=10), history=history, require_one_pass=False)
    assert relaxed.verdict is Verdict.PASS


def test_unknown_history_uses_seventy_percent() -> None:
    # 10 attempts at 70%: strict table value 3
    assert aggregator.required_passes(10, 70) == 3
    assert judge(tally("new", passes=3, failures=7)).verdict is Verdict.PASS
    result = judge(tally("new", passes=2, failures=8))
    (reg,) = result.regressions
    assert reg.baseline_pass_rate is None and "70%" in reg.reason
    assert any(n.kind is NoteKind.NEW_TEST for n in result.notes)
    assert judge(tally("new", passes=2, failures=8), unknown_history_percent=40).verdict == "pass"


def test_flakes_inside_a_run_count_as_passes() -> None:
    history = baselines(baseline("t", runs=200, failures=0))
    result = judge(tally("t", passes=2, flakes=6, failures=2), history=history)
    assert result.verdict is Verdict.PASS
    failing = judge(tally("t", passes=1, flakes=2, failures=7), history=history)
    (reg,) = failing.regressions
    assert reg.passes == 3 and reg.failures == 7 and "(2 flaked)" in reg.reason


def test_informing_tests_never_block() -> None:
    result = judge(tally("inf", failures=10), tally("ok", passes=10), informing={(SUITE, "inf")})
    assert result.verdict is Verdict.PASS and result.tests_checked == 1
    (note,) = [n for n in result.notes if n.kind is NoteKind.INFORMING]
    assert note.test == "inf" and "would have failed" in note.detail
    by_predicate = judge(tally("inf", failures=10), informing=lambda suite, name: name == "inf")
    assert by_predicate.verdict is Verdict.PASS


def test_percentage_is_truncated_like_the_aggregator() -> None:
    # 11 attempts: 97% -> strict 8, 98% -> strict 9 (pity caps at 9)
    assert aggregator.required_passes(11, 97) == 8 and aggregator.required_passes(11, 98) == 9
    evidence = tally("t", passes=8, failures=3)
    just_below = baselines(baseline("t", runs=10000, failures=201))  # 97.99% -> 97
    assert judge(evidence, history=just_below).verdict is Verdict.PASS
    exactly = baselines(baseline("t", runs=100, failures=2))  # 98%
    assert judge(evidence, history=exactly).verdict is Verdict.FAIL


def test_binary_fractions_do_not_lose_a_percent() -> None:
    # 0.58 * 100 == 57.99999999999999; the aggregator's int() of the stored 58% is 58
    assert aggregator.required_passes(11, 57) == 2 and aggregator.required_passes(11, 58) == 3
    history = baselines(baseline("t", runs=100, failures=42))
    result = judge(tally("t", passes=2, failures=9), history=history)
    assert "historical pass rate 58%" in result.regressions[0].reason


def test_many_tests_and_absent_baseline_tests() -> None:
    history = baselines(*(baseline(f"t{i}", runs=200, failures=0) for i in range(5)))
    result = judge(*(tally(f"t{i}", passes=10) for i in range(3)), history=history)
    assert result.verdict is Verdict.PASS and result.tests_checked == 3 and result.absent == 2
    assert flagged(judge(tally("t0", passes=4, failures=6), history=history)) == {"t0"}
