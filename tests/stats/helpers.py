"""Small builders shared by the statistics tests."""

from __future__ import annotations

from api.stats.baseline import pass_rate_and_stddev
from api.stats.types import TestBaseline, TestTally

SUITE = "e2e"


def tally(name: str, passes: int = 0, failures: int = 0, flakes: int = 0, skips: int = 0):
    return TestTally(SUITE, name, passes=passes, failures=failures, flakes=flakes, skips=skips)


def baseline(name: str, runs: int, failures: int, flakes: int = 0) -> TestBaseline:
    passes = runs - failures - flakes
    rate, stddev = pass_rate_and_stddev(passes + flakes, runs)
    return TestBaseline(SUITE, name, runs, passes, failures, flakes, rate, stddev)


def baselines(*records: TestBaseline) -> dict[tuple[str, str], TestBaseline]:
    return {r.key: r for r in records}


def flagged(result) -> set[str]:
    return {r.test for r in result.regressions}
