"""Building the parser's results: the per-testcase constructor, retries, declared counts."""

from __future__ import annotations

import typing

from api.domain import TestResult, TestStatus, merge_outcome
from api.junit._text import parse_count
from api.junit.model import CaseTotals


def _fast_result_constructor() -> typing.Callable[..., TestResult] | None:
    """A constructor equivalent to ``TestResult(...)`` at under half its cost.

    The frozen dataclass ``__init__`` pays one ``object.__setattr__`` per field; filling the
    slots through their descriptors skips that, which saves close to a tenth of the parse time of
    a 7k-testcase file. It is only used while ``TestResult`` is exactly the plain five-slot value
    type this was written against (no ``__post_init__`` to bypass); otherwise the real
    constructor runs.
    """
    expected = ("name", "suite", "status", "duration_s", "message")
    if (
        TestResult.__slots__ != expected
        or tuple(TestResult.__dataclass_fields__) != expected
        or hasattr(TestResult, "__post_init__")
    ):
        return None
    slots = vars(TestResult)
    set_name, set_suite, set_status, set_duration, set_message = (
        slots[field].__set__ for field in expected
    )
    allocate = object.__new__

    def construct(
        name: str, suite: str, status: TestStatus, duration: float | None, message: str | None
    ) -> TestResult:
        result = allocate(TestResult)
        set_name(result, name)
        set_suite(result, suite)
        set_status(result, status)
        set_duration(result, duration)
        set_message(result, message)
        return result

    return construct


new_result: typing.Callable[..., TestResult] = _fast_result_constructor() or TestResult


def merge_repeat(
    earlier: TestResult,
    status: TestStatus,
    duration: float | None,
    message: str | None,
    limit: int,
) -> TestResult:
    """Fold a retry of a test into what the file said about it before (the domain's one rule,
    :func:`api.domain.merge_outcome`)."""
    merged, total, text = merge_outcome((earlier.status, earlier.duration_s, earlier.message),
                                        (status, duration, message), limit=limit)
    return new_result(earlier.name, earlier.suite, merged, total, text)


def declared_counts(attrs: dict[str, str]) -> CaseTotals | None:
    tests = parse_count(attrs.get("tests"))
    if tests is None:
        return None
    skipped = parse_count(attrs.get("skipped", attrs.get("skips"))) or 0
    skipped += parse_count(attrs.get("disabled")) or 0
    return CaseTotals(
        tests=tests,
        failures=parse_count(attrs.get("failures")) or 0,
        errors=parse_count(attrs.get("errors")) or 0,
        skipped=skipped,
    )
