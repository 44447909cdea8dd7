"""Suite-level ``<error>``/``<failure>`` and ``lifecycle="informing"`` (see the parser's rules)."""

from __future__ import annotations

from pathlib import Path

from api.domain import TestStatus
from api.junit import CaseTotals, ParsedJunit, parse_junit

DATA = Path(__file__).resolve().parents[1] / "data" / "junit"


def parse(xml: str) -> ParsedJunit:
    return parse_junit(xml.encode(), filename="t.xml")


def test_ant_class_that_failed_to_initialise_is_one_error_named_after_the_suite() -> None:
    parsed = parse_junit((DATA / "ant-class-init-error.xml").read_bytes())
    [result] = parsed.tests
    suite = "com.example.cache.CacheTest"
    assert (result.suite, result.name) == (suite, f"{suite} (suite setup)")
    assert result.status is TestStatus.ERROR
    assert result.message is not None
    # The message attribute ("null") already occurs in the stack trace, so only the trace is kept.
    assert result.message.startswith("java.lang.ExceptionInInitializerError\n")
    assert "CacheTest.<clinit>(CacheTest.java:12)" in result.message
    assert parsed.totals == CaseTotals(tests=1, failures=0, errors=1, skipped=0)
    assert parsed.declared == CaseTotals(tests=0, failures=0, errors=1, skipped=0)


def test_suite_level_failure_is_added_beside_the_suites_testcases() -> None:
    parsed = parse(
        '<testsuites><testsuite name="S">'
        '<testcase classname="S" name="a"/>'
        '<failure message="afterAll hook failed">trace</failure>'
        '<testcase classname="S" name="b"><failure message="boom"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert [(r.suite, r.name, r.status, r.message) for r in parsed.tests] == [
        ("S", "a", TestStatus.PASSED, None),
        ("S", "S (suite setup)", TestStatus.FAILED, "afterAll hook failed\ntrace"),
        ("S", "b", TestStatus.FAILED, "boom"),
    ]
    assert parsed.totals == CaseTotals(tests=3, failures=2, errors=0, skipped=0)


def test_only_direct_children_of_a_testsuite_count() -> None:
    parsed = parse(
        '<testsuites name="all"><error message="not a suite"/>'
        '<testsuite name="outer"><properties><error message="not a child"/></properties>'
        '<testsuite name="inner"><testcase name="t"><error message="the case\'s"/></testcase>'
        '</testsuite></testsuite></testsuites>'
    )
    assert [(r.suite, r.name, r.status) for r in parsed.tests] == [
        ("inner", "t", TestStatus.ERROR)
    ]


def test_nested_suite_failure_is_named_after_the_innermost_suite() -> None:
    parsed = parse(
        '<testsuite name="outer"><testsuite name="inner"><error message="x"/></testsuite>'
        '<failure message="y"/></testsuite>'
    )
    assert [(r.suite, r.name, r.status) for r in parsed.tests] == [
        ("inner", "inner (suite setup)", TestStatus.ERROR),
        ("outer", "outer (suite setup)", TestStatus.FAILED),
    ]


def test_nameless_suite_and_repeated_suite_failures_merge() -> None:
    parsed = parse('<testsuite><error message="one"/><failure message="two"/></testsuite>')
    [result] = parsed.tests
    assert (result.suite, result.name, result.status) == ("", "(suite setup)", TestStatus.FAILED)
    assert result.message == "one\n\ntwo"
    assert parsed.totals == CaseTotals(tests=2, failures=1, errors=1, skipped=0)


def test_system_out_under_the_suite_is_not_a_failure_and_ansi_is_stripped() -> None:
    parsed = parse(
        '<testsuite name="S"><system-out>noise</system-out>'
        '<error type="E">\x1b[31mred\x1b[0m</error></testsuite>'
    )
    [result] = parsed.tests
    assert result.message == "red"


def test_informing_lifecycle_is_reported_beside_the_results() -> None:
    parsed = parse(
        '<testsuite name="S">'
        '<testcase classname="pkg" name="a" lifecycle="informing"/>'
        '<testcase name="b" lifecycle="blocking"/>'
        '<testcase name="c"/>'
        '<testcase name="d"><failure/></testcase>'
        '<testcase name="d" lifecycle="Informing"/>'
        "</testsuite>"
    )
    assert parsed.informing == frozenset({("S", "pkg.a"), ("S", "d")})
    assert {r.name: r.status for r in parsed.tests}["d"] is TestStatus.FLAKED


def test_no_lifecycle_means_an_empty_informing_set() -> None:
    assert parse('<testsuite name="S"><testcase name="a"/></testsuite>').informing == frozenset()
