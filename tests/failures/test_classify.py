"""Classification of a failed run: one test per class and rule, and the summary line."""

from __future__ import annotations

from datetime import UTC, datetime

from api.failures.classify import classify, counts, summary
from api.failures.model import Breakage, Classification, FailureClass
from tests.failures.helpers import match, pattern

STARTED = datetime(2026, 3, 1, tzinfo=UTC)


def breakage(bid: int, pattern_id: int, *, jobs: tuple[str, ...] = (),
             resolved: bool = False) -> Breakage:
    return Breakage(id=bid, cause="abc123", jobs=jobs, pattern_id=pattern_id, notes="",
                    started=STARTED, resolved=STARTED if resolved else None,
                    resolution="def456" if resolved else None)


def test_decisive_flaky_tag_is_flaky_and_names_the_line() -> None:
    patterns = {1: pattern(1, tags=("Flaky",)), 2: pattern(2, tags=("infra",))}
    got = classify("j", "r1", [match(1, line=40, text="timeout"), match(2, line=12)], patterns,
                   [], False)
    assert got.failure_class is FailureClass.FLAKY
    assert got.decisive is not None and got.decisive.line.line_number == 40
    assert "tagged flaky" in got.reason and "line 40" in got.reason and "timeout" in got.reason


def test_decisive_infra_tag_is_infra_even_when_the_run_also_passed() -> None:
    got = classify("j", "r1", [match(2, line=12)], {2: pattern(2, tags=("infra",))}, [], True)
    assert got.failure_class is FailureClass.INFRA and "tagged infra" in got.reason


def test_only_the_decisive_match_tags_decide() -> None:
    # The infra pattern matched earlier in the log; the later untagged one decides: new.
    patterns = {1: pattern(1, tags=("infra",)), 2: pattern(2)}
    got = classify("j", "r1", [match(1, line=3), match(2, line=30)], patterns, [], False)
    assert got.failure_class is FailureClass.NEW
    assert got.decisive is not None and got.decisive.line.pattern_id == 2


def test_ongoing_breakage_of_the_job_makes_it_known() -> None:
    patterns = {1: pattern(1), 5: pattern(5)}
    matches = [match(1, line=3), match(5, line=30)]
    got = classify("j", "r1", matches, patterns, [breakage(9, 1, jobs=("j",))], False)
    assert got.failure_class is FailureClass.KNOWN and got.breakage_id == 9
    assert got.decisive is not None and got.decisive.line.pattern_id == 1
    assert "breakage #9" in got.reason and "abc123" in got.reason


def test_resolved_breakage_or_other_job_breakage_does_not_explain() -> None:
    patterns = {1: pattern(1)}
    for broke in (breakage(9, 1, resolved=True), breakage(9, 1, jobs=("other",))):
        got = classify("j", "r1", [match(1)], patterns, [broke], False)
        assert got.failure_class is FailureClass.NEW and got.breakage_id is None


def test_breakage_without_jobs_covers_every_job() -> None:
    got = classify("any", "r1", [match(1, job="any")], {1: pattern(1)}, [breakage(2, 1)], False)
    assert got.failure_class is FailureClass.KNOWN


def test_failed_and_passed_on_the_same_payload_is_flaky() -> None:
    got = classify("j", "r1", [], {}, [], True)
    assert got.failure_class is FailureClass.FLAKY and "same payload" in got.reason


def test_nothing_explains_it_is_new() -> None:
    got = classify("j", "r1", [], {}, [], False)
    assert got == Classification("j", "r1", FailureClass.NEW,
                                 "no flaky, infra or breakage pattern matched")


def test_summary_line_and_counts() -> None:
    def of(cls: FailureClass, n: int) -> list[Classification]:
        return [Classification("j", f"{cls}{i}", cls, "") for i in range(n)]

    runs = of(FailureClass.FLAKY, 3) + of(FailureClass.KNOWN, 1) + of(FailureClass.NEW, 6)
    assert summary(runs) == "3/10 flaky, 1/10 known, 6/10 new"
    assert counts(runs)[FailureClass.INFRA] == 0
    assert summary([]) == "no failures"


def test_a_generic_pattern_never_decides() -> None:
    patterns = {16: pattern(16, tags=("flaky",), specificity=5), 3: pattern(3)}
    matches = [match(3, line=5), match(16, line=90)]
    assert classify("j", "r1", matches, patterns, [], False).failure_class is FailureClass.FLAKY
    got = classify("j", "r1", matches, patterns, [], False, generic={16})
    assert got.failure_class is FailureClass.NEW
    assert got.decisive is not None and got.decisive.line.pattern_id == 3
