"""The JUnit parser's public value types; see :mod:`api.junit.parser` for the rules."""

from __future__ import annotations

from dataclasses import dataclass, replace

from api.domain import TestResult

__all__ = ["CaseTotals", "JunitParseError", "ParsedJunit", "TooManyTestcases"]


@dataclass(frozen=True, slots=True)
class CaseTotals:
    """Counts over ``<testcase>`` elements; a testcase is in at most one of the last three."""

    tests: int
    failures: int
    errors: int
    skipped: int


@dataclass(frozen=True, slots=True)
class ParsedJunit:
    tests: tuple[TestResult, ...]
    totals: CaseTotals
    declared: CaseTotals | None
    # (suite, name) of the tests a testcase marked lifecycle="informing" (OpenShift's
    # job-run-aggregator): reported, never blocking. :meth:`results` carries it per result.
    informing: frozenset[tuple[str, str]] = frozenset()
    # How many test or suite names were longer than api.names.TEST_NAME_MAX and were cut.
    names_cut: int = 0

    def results(self) -> tuple[TestResult, ...]:
        """The tests as stored: each marked ``informing`` when its key is in ``informing``."""
        if not self.informing:
            return self.tests
        return tuple(replace(test, informing=True) if (test.suite, test.name) in self.informing
                     else test for test in self.tests)


class JunitParseError(ValueError):
    """The input is not an acceptable JUnit XML document; ``str()`` is fit for a 400 body."""

    def __init__(self, filename: str, line: int | None, reason: str) -> None:
        self.filename = filename
        self.line = line
        self.reason = reason
        where = f"{filename}: line {line}" if line is not None else filename
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[type[JunitParseError], tuple[str, int | None, str]]:
        return type(self), (self.filename, self.line, self.reason)


class TooManyTestcases(JunitParseError):
    """The document has more ``<testcase>`` elements than the caller's ``max_cases``: a limit
    on the work of a request (the API answers 413), not a malformed document."""

    def __init__(self, filename: str, line: int | None, limit: int) -> None:
        super().__init__(filename, line, f"more than {limit} testcases")
        self.limit = limit

    def __reduce__(self) -> tuple[type[JunitParseError], tuple[str, int | None, int]]:  # type: ignore[override]
        return type(self), (self.filename, self.line, self.limit)
