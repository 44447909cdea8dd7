"""Unit tests of the JUnit parser: one test per rule of ``api.junit.parser``'s docstring.

Inline XML keeps each rule next to its evidence; the few real files live in ``tests/data/junit``
(see its README) so this module runs without ``../shared``.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.domain import TestResult, TestStatus, truncate_message
from api.junit import CaseTotals, JunitParseError, ParsedJunit, parse_junit
from api.junit._results import new_result

DATA = Path(__file__).resolve().parents[1] / "data" / "junit"

PASSED, FAILED, ERROR, SKIPPED, FLAKED = (
    TestStatus.PASSED,
    TestStatus.FAILED,
    TestStatus.ERROR,
    TestStatus.SKIPPED,
    TestStatus.FLAKED,
)


def parse(xml: str | bytes, **options: object) -> ParsedJunit:
    data = xml.encode() if isinstance(xml, str) else xml
    return parse_junit(data, filename="t.xml", **options)  # type: ignore[arg-type]


def by_name(parsed: ParsedJunit) -> dict[str, TestResult]:
    return {result.name: result for result in parsed.tests}


def statuses(parsed: ParsedJunit) -> dict[str, TestStatus]:
    return {result.name: result.status for result in parsed.tests}


def refusal(xml: str | bytes, **options: object) -> JunitParseError:
    with pytest.raises(JunitParseError) as caught:
        parse(xml, **options)
    return caught.value


# --- documents and roots ---------------------------------------------------------------------


def test_testsuites_root_with_every_outcome() -> None:
    parsed = parse(
        """<?xml version="1.0" encoding="UTF-8"?>
        <testsuites>
          <testsuite name="pkg">
            <testcase name="ok" time="0.5"/>
            <testcase name="bad" time="1"><failure message="assert 1 == 2"/></testcase>
            <testcase name="boom"><error message="NullPointerException"/></testcase>
            <testcase name="later"><skipped/></testcase>
          </testsuite>
        </testsuites>"""
    )
    assert parsed.tests == (
        TestResult("ok", "pkg", PASSED, 0.5, None),
        TestResult("bad", "pkg", FAILED, 1.0, "assert 1 == 2"),
        TestResult("boom", "pkg", ERROR, None, "NullPointerException"),
        TestResult("later", "pkg", SKIPPED, None, None),
    )
    assert parsed.totals == CaseTotals(tests=4, failures=1, errors=1, skipped=1)
    assert parsed.declared is None


def test_testsuite_root() -> None:
    parsed = parse('<testsuite name="s"><testcase name="a"/></testsuite>')
    assert parsed.tests == (TestResult("a", "s", PASSED),)


def test_bare_testcase_root_is_tolerated_with_empty_suite() -> None:
    parsed = parse('<testcase name="alone" time="2"><failure>no</failure></testcase>')
    assert parsed.tests == (TestResult("alone", "", FAILED, 2.0, "no"),)


def test_other_roots_are_not_junit() -> None:
    error = refusal('<?xml version="1.0"?>\n<test-run><test-case name="x"/></test-run>')
    assert error.line == 2
    assert "not a JUnit XML document" in error.reason
    assert "<test-run>" in error.reason


def test_document_without_testcases() -> None:
    parsed = parse('<testsuites><testsuite name="s" tests="0"/></testsuites>')
    assert parsed.tests == ()
    assert parsed.totals == CaseTotals(0, 0, 0, 0)


def test_testcases_outside_any_suite_get_the_empty_suite() -> None:
    parsed = parse(
        '<testsuites><testcase name="a"/><testsuite><testcase name="b"/></testsuite></testsuites>'
    )
    assert [(r.suite, r.name) for r in parsed.tests] == [("", "a"), ("", "b")]


# --- identity ---------------------------------------------------------------------------------


def test_nested_suites_three_deep_use_the_innermost_name() -> None:
    parsed = parse(
        """<testsuites>
          <testsuite name="outer">
            <testcase name="t0"/>
            <testsuite name="middle">
              <testsuite name="inner">
                <testcase name="t3"/>
              </testsuite>
              <testcase name="t2"/>
            </testsuite>
            <testcase name="t1"/>
          </testsuite>
        </testsuites>"""
    )
    assert [(r.suite, r.name) for r in parsed.tests] == [
        ("outer", "t0"),
        ("inner", "t3"),
        ("middle", "t2"),
        ("outer", "t1"),
    ]


@pytest.mark.parametrize(
    ("suite", "classname", "name", "expected"),
    [
        ("pytest", "tests.test_lib.TestX", "test_a", "tests.test_lib.TestX.test_a"),  # pytest
        ("com.acme.FooTest", "com.acme.FooTest", "works", "works"),  # Surefire, Go, Ginkgo
        ("main.test.js", "Widget renders", "Widget renders", "Widget renders"),  # jest-junit
        ("Config", "loads defaults", "Config loads defaults", "Config loads defaults"),  # mocha
        ("widget.test.js", "", "Mount iframe", "Mount iframe"),  # empty classname
    ],
)
def test_classname_joins_the_name_only_when_it_adds_something(
    suite: str, classname: str, name: str, expected: str
) -> None:
    parsed = parse(
        f'<testsuite name="{suite}"><testcase classname="{classname}" name="{name}"/></testsuite>'
    )
    assert [(r.suite, r.name) for r in parsed.tests] == [(suite, expected)]


def test_same_name_in_different_classes_stays_apart() -> None:
    parsed = parse(
        """<testsuite name="pytest">
          <testcase classname="test_foo.TestFoo" name="test_x"><failure/></testcase>
          <testcase classname="test_bar.TestBar" name="test_x"/>
        </testsuite>"""
    )
    assert statuses(parsed) == {
        "test_foo.TestFoo.test_x": FAILED,
        "test_bar.TestBar.test_x": PASSED,
    }


def test_unnamed_testcases_are_numbered_not_merged() -> None:
    parsed = parse(
        """<testsuite>
          <testcase/><testcase><failure/></testcase><testcase name=""><skipped/></testcase>
        </testsuite>"""
    )
    assert statuses(parsed) == {
        "<unnamed 1>": PASSED,
        "<unnamed 2>": FAILED,
        "<unnamed 3>": SKIPPED,
    }


def test_results_keep_first_seen_order_across_suites() -> None:
    parsed = parse(
        """<testsuites>
          <testsuite name="a"><testcase name="x"/><testcase name="y"/></testsuite>
          <testsuite name="b"><testcase name="x"/></testsuite>
          <testsuite name="a">
            <testcase name="x"><failure/></testcase><testcase name="z"/>
          </testsuite>
        </testsuites>"""
    )
    assert [(r.suite, r.name, r.status) for r in parsed.tests] == [
        ("a", "x", FLAKED),
        ("a", "y", PASSED),
        ("b", "x", PASSED),
        ("a", "z", PASSED),
    ]


# --- status -----------------------------------------------------------------------------------


def test_failure_and_error_in_one_testcase_is_one_failure() -> None:
    parsed = parse_junit((DATA / "junit.multiresult.xml").read_bytes())
    assert statuses(parsed) == {
        "test class.test that errors": FAILED,  # skipped + failure + error
        "test class.test that fails": FAILED,  # skipped + failure
        "test class.test that is skipped": SKIPPED,
        "test class.test that succeeds": PASSED,
    }
    assert parsed.totals == CaseTotals(tests=4, failures=2, errors=0, skipped=1)
    assert by_name(parsed)["test class.test that errors"].message == (
        "test failure\nAssertion failed\n\ntest teardown failure\nstdout"
    )


@pytest.mark.parametrize(
    ("attribute", "children", "expected"),
    [
        ("passed", "", PASSED),
        ("run", "", PASSED),  # gtest / Bazel
        ("skipped", "<skipped/>", SKIPPED),  # Ginkgo v2
        ("skipped", "", SKIPPED),
        ("disabled", "", SKIPPED),  # tst, Catch2
        ("disabled", "<failure>stale</failure>", SKIPPED),  # the attribute wins over a stale child
        ("notrun", "", SKIPPED),
        ("Not Run", "", SKIPPED),
        ("not_run", "", SKIPPED),
        (" Timed-Out ", "", ERROR),
        ("pending", "", SKIPPED),  # Ginkgo
        ("failed", "", FAILED),
        ("FAILED", "", FAILED),
        ("errored", "", ERROR),
        ("panicked", "", ERROR),
        ("timedout", "", ERROR),
        ("passed", "<failure/>", FAILED),  # the child is more specific than a pass-like claim
        ("failed", "<error/>", ERROR),
        ("something-new", "", PASSED),
        ("something-new", "<failure/>", FAILED),
    ],
)
def test_status_attribute_dialects(attribute: str, children: str, expected: TestStatus) -> None:
    parsed = parse(f'<testcase name="t" status="{attribute}">{children}</testcase>')
    assert parsed.tests[0].status is expected


def test_status_attribute_real_tst_file() -> None:
    parsed = parse_junit((DATA / "tst-disabled.xml").read_bytes())
    assert parsed.totals == CaseTotals(tests=31, failures=19, errors=1, skipped=5)
    assert parsed.declared == CaseTotals(tests=31, failures=19, errors=1, skipped=5)


def test_repeated_testcase_failed_then_passed_is_flaky() -> None:
    parsed = parse(
        """<testsuite name="s">
          <testcase name="t" time="1"><failure message="first try"/></testcase>
          <testcase name="t" time="2"/>
        </testsuite>"""
    )
    assert parsed.tests == (TestResult("t", "s", FLAKED, 3.0, "first try"),)
    assert parsed.totals == CaseTotals(tests=2, failures=1, errors=0, skipped=0)


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        (["<failure/>", "<error/>", ""], FLAKED),
        (["", "<failure/>", "<error/>"], FLAKED),  # order does not matter
        (["<failure/>", "<failure/>", "<error/>"], FAILED),
        (["<error/>", "<error/>"], ERROR),
        (["<skipped/>", ""], PASSED),
        (["<skipped/>", "<failure/>"], FAILED),
        (["<skipped/>", "<skipped/>"], SKIPPED),
    ],
)
def test_repeated_testcases_merge_with_merge_status(
    attempts: list[str], expected: TestStatus
) -> None:
    cases = "".join(f'<testcase name="t">{child}</testcase>' for child in attempts)
    parsed = parse(f"<testsuite>{cases}</testsuite>")
    assert [r.status for r in parsed.tests] == [expected]
    assert parsed.totals.tests == len(attempts)


def test_repeats_keep_first_and_latest_failure_text_and_sum_known_durations() -> None:
    parsed = parse(
        """<testsuite>
          <testcase name="t" time="1"><failure message="one"/></testcase>
          <testcase name="t" time="N/A"><failure message="one"/></testcase>
          <testcase name="t" time="2"><error message="two"/></testcase>
        </testsuite>"""
    )
    assert parsed.tests == (TestResult("t", "", FAILED, 3.0, "one\n\ntwo"),)


def test_real_pytest_retries_file() -> None:
    parsed = parse_junit((DATA / "flaky_with_classname_file.xml").read_bytes())
    assert statuses(parsed) == {
        "test_foo.TestFoo.test_foo": FLAKED,
        "test_bar.TestBar.test_foo": PASSED,
        "test_baz.TestBaz.test_baz": PASSED,
    }
    assert parsed.totals == CaseTotals(tests=5, failures=1, errors=1, skipped=0)
    assert by_name(parsed)["test_foo.TestFoo.test_foo"].message == (
        "it failed\n'NoneType' object is not iterable\n\nit broke\noh no"
    )


def test_surefire_flaky_failure_is_a_flake_with_its_stack_trace() -> None:
    parsed = parse_junit((DATA / "surefire-flaky.xml").read_bytes())
    [result] = parsed.tests
    assert result.status is FLAKED
    assert result.suite == "io.sodadata.dependson.soda.integrations.msteams.MicrosoftTeamsCrudTest"
    assert result.name == "createWebhook"  # classname repeats the suite
    assert result.message is not None
    assert result.message.startswith("java.lang.AssertionError:")
    assert "MicrosoftTeamsCrudTest.java:58" in result.message
    assert "Some error output here" not in result.message  # the rerun's system-err
    assert parsed.totals == CaseTotals(tests=1, failures=0, errors=0, skipped=0)


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ('<flakyFailure message="m1"/><flakyFailure message="m2"/>', FLAKED),
        ('<flakyError message="m1"/>', FLAKED),
        ('<failure message="m0"/><rerunFailure message="m1"/><rerunFailure message="m2"/>', FAILED),
        ('<error message="m0"/><rerunError message="m1"/>', ERROR),
    ],
)
def test_surefire_reruns(children: str, expected: TestStatus) -> None:
    parsed = parse(
        f'<testsuite name="S"><testcase classname="S" name="t">{children}</testcase></testsuite>'
    )
    [result] = parsed.tests
    assert result.status is expected
    assert result.message is not None and result.message.startswith("m")
    assert parsed.totals.tests == 1


def test_suite_level_error_is_a_failed_result_beside_the_testcases() -> None:
    # Once dropped (the suite's failure vanished); now counted as Jenkins counts it. More in
    # tests/junit/test_suite_level.py.
    parsed = parse(
        '<testsuite name="s"><error message="setup failed"/><testcase name="t"/></testsuite>'
    )
    assert statuses(parsed) == {"s (suite setup)": ERROR, "t": PASSED}
    assert parsed.totals == CaseTotals(2, 0, 1, 0)


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.25", 0.25),
        (" 2.5 ", 2.5),
        ("1e-3", 0.001),
        ("0", 0.0),
        ("1,234.5", 1234.5),  # en-US grouping, as Surefire writes long runs
        ("12,345,678.25", 12345678.25),
        ("1,5", None),  # decimal comma or grouping? ambiguous
        ("1,234", None),
        ("", None),
        ("N/A", None),
        ("-1", None),
        ("NaN", None),
        ("inf", None),
        ("-inf", None),
        ("1.5s", None),
    ],
)
def test_time_values(value: str, expected: float | None) -> None:
    parsed = parse(f'<testsuite><testcase name="t" time="{value}"/></testsuite>')
    assert parsed.tests == (TestResult("t", "", PASSED, expected, None),)


# --- messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ('<failure message="short">long text</failure>', "short\nlong text"),
        ('<failure message="same">same</failure>', "same"),
        ('<failure message="expected 1">AssertionError: expected 1\n  at x</failure>',
         "AssertionError: expected 1\n  at x"),
        ('<failure message="only the attribute"/>', "only the attribute"),
        ("<failure>\n   only the text   \n</failure>", "only the text"),
        ("<failure><![CDATA[a < b]]></failure>", "a < b"),
        ("<failure/>", None),
        ('<error message="m">t<system-out>noise</system-out></error>', "m\nt"),
    ],
)
def test_message_combines_attribute_and_text(element: str, expected: str | None) -> None:
    parsed = parse(f'<testsuite><testcase name="t">{element}</testcase></testsuite>')
    assert parsed.tests[0].message == expected


def test_only_failures_errors_and_flakes_carry_messages() -> None:
    parsed = parse(
        """<testsuite>
          <testcase name="skip"><skipped message="not on this platform">why</skipped></testcase>
          <testcase name="pass"><system-out>lots of output</system-out></testcase>
          <testcase name="disabled" status="disabled"><failure message="stale"/></testcase>
        </testsuite>"""
    )
    assert [r.message for r in parsed.tests] == [None, None, None]


def test_ansi_escapes_are_stripped() -> None:
    esc = b"\x1b"
    raw = (
        b'<testsuite><testcase name="t"><failure message="' + esc + b'[1mboom' + esc + b'[0m">'
        + esc + b"[31mred" + esc + b"[0m and \xef\xbf\xbd[1mgo-escaped\xef\xbf\xbd[0m "
        + esc + b"]8;;http://x" + esc + b"\\link" + esc + b"]8;;" + esc + b"\\"
        + b"</failure></testcase></testsuite>"
    )
    parsed = parse(raw)
    assert parsed.tests[0].message == "boom\nred and go-escaped link"


def test_raw_escape_in_a_declared_latin1_document_is_a_clear_error() -> None:
    error = refusal(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<testsuite><testcase name="t">'
        b"<failure>\x1b[31m</failure></testcase></testsuite>"
    )
    assert error.line == 2
    assert "control character U+001B" in error.reason


def test_message_truncation_keeps_head_and_tail() -> None:
    text = "HEAD" + "x" * 5000 + "TAIL"
    parsed = parse(f'<testcase name="t"><failure>{text}</failure></testcase>', message_limit=200)
    message = parsed.tests[0].message
    assert message == truncate_message(text, 200)
    assert message is not None and len(message) == 200
    assert message.startswith("HEAD") and message.endswith("TAIL")
    assert "characters truncated" in message


def test_default_message_limit_is_the_domain_limit() -> None:
    text = "y" * (70 * 1024)
    parsed = parse(f'<testsuite><testcase name="t"><error>{text}</error></testcase></testsuite>')
    assert parsed.tests[0].message == truncate_message(text)


# --- counts -----------------------------------------------------------------------------------


def test_declared_counts_are_recorded_but_the_cases_are_trusted() -> None:
    parsed = parse(
        """<testsuites tests="204" failures="0" errors="3" skipped="1" disabled="2">
          <testsuite name="s" tests="999">
            <testcase name="a"/>
            <testcase name="b"><failure/></testcase>
            <testcase name="c"><skipped/></testcase>
          </testsuite>
        </testsuites>"""
    )
    assert parsed.totals == CaseTotals(tests=3, failures=1, errors=0, skipped=1)
    assert parsed.declared == CaseTotals(tests=204, failures=0, errors=3, skipped=3)


@pytest.mark.parametrize(
    ("root_attributes", "declared"),
    [
        ("", None),  # pytest's bare <testsuites>
        ('tests="abc" failures="1"', None),
        ('tests="5"', CaseTotals(5, 0, 0, 0)),
        ('tests="5.0" failures="x" skips="2"', CaseTotals(5, 0, 0, 2)),
    ],
)
def test_declared_counts_edge_cases(root_attributes: str, declared: CaseTotals | None) -> None:
    parsed = parse(f'<testsuite {root_attributes}><testcase name="a"/></testsuite>')
    assert parsed.declared == declared


def test_real_ginkgo_v1_shard() -> None:
    parsed = parse_junit((DATA / "kubevirt-network-partial3_2failures_junit.xml").read_bytes())
    assert parsed.totals == CaseTotals(tests=47, failures=2, errors=0, skipped=21)
    assert parsed.declared == CaseTotals(tests=26, failures=2, errors=0, skipped=0)  # Ginkgo v1
    failed = [r for r in parsed.tests if r.status is FAILED]
    assert len(failed) == 2
    assert all(r.suite == "Tests Suite" and r.message and r.duration_s for r in failed)
    assert all("STEP" not in (r.message or "") for r in failed)  # system-out is not the message


# --- malformed input --------------------------------------------------------------------------


def test_malformed_xml_names_the_file_and_line() -> None:
    with pytest.raises(JunitParseError) as caught:
        parse_junit(
            b'<testsuites>\n  <testsuite name="s">\n    <testcase name="a">\n  </testsuite>\n',
            filename="reports/junit_01.xml",
        )
    error = caught.value
    assert (error.filename, error.line) == ("reports/junit_01.xml", 4)
    assert "mismatched tag" in error.reason
    assert str(error) == f"reports/junit_01.xml: line 4: {error.reason}"
    assert isinstance(error, ValueError)


def test_truncated_input() -> None:
    error = refusal('<testsuites>\n<testsuite name="s">\n<testcase name="a"><failure>trace')
    assert error.line == 3
    assert "unexpected end of input" in error.reason


def test_real_kettle_malformed_file() -> None:
    # A comment before the XML declaration, then the file is cut off mid-attribute.
    with pytest.raises(JunitParseError) as caught:
        parse_junit((DATA / "kettle-testdata-malformed.xml").read_bytes(), filename="m.xml")
    assert caught.value.line == 2
    assert "declaration" in caught.value.reason


@pytest.mark.parametrize("source", [b"", io.BytesIO(b"")])
def test_empty_input(source: bytes | io.BytesIO) -> None:
    with pytest.raises(JunitParseError) as caught:
        parse_junit(source, filename="empty.xml")
    assert caught.value.line is None
    assert str(caught.value) == "empty.xml: empty input"


@pytest.mark.parametrize(
    "junk",
    [b"   \n  ", b"not xml at all", b"\x00\x01\x02", b'{"tests": []}', b"<?xml version='1.0'?>"],
)
def test_non_xml_input(junk: bytes) -> None:
    error = refusal(junk)
    assert error.filename == "t.xml"
    assert error.line is not None and error.line >= 1


def test_control_characters_are_named() -> None:
    error = refusal('<testsuite>\n<testcase name="a"><failure>bell\x07</failure></testcase>')
    assert error.line == 2
    assert "control character U+0007" in error.reason


def test_error_pickles_and_keeps_its_fields() -> None:
    error = JunitParseError("f.xml", 7, "mismatched tag")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.filename, copy.line, copy.reason, str(copy)) == (
        "f.xml",
        7,
        "mismatched tag",
        "f.xml: line 7: mismatched tag",
    )
    assert str(JunitParseError("f.xml", None, "empty input")) == "f.xml: empty input"


# --- hardening --------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<testsuites><testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite></testsuites>'
)


def test_billion_laughs_is_refused() -> None:
    error = refusal(BILLION_LAUGHS)
    assert "DTD" in error.reason
    assert error.line == 2


@pytest.mark.parametrize("name", ["NUnit-sec1752-file.xml", "NUnit-sec1752-https.xml"])
def test_real_xxe_files_are_refused(name: str) -> None:
    with pytest.raises(JunitParseError) as caught:
        parse_junit((DATA / name).read_bytes(), filename=name)
    assert "DTD" in caught.value.reason
    assert caught.value.line == 2


@pytest.mark.parametrize(
    "prolog",
    [
        "<!DOCTYPE testsuites>",
        '<!DOCTYPE testsuites SYSTEM "http://example.invalid/junit.dtd">',
        '<!DOCTYPE t [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
        '<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ],
)
def test_any_doctype_is_refused(prolog: str) -> None:
    error = refusal(f'<?xml version="1.0"?>{prolog}<testsuites><testcase name="&x;"/></testsuites>')
    assert "DTD" in error.reason


def test_undeclared_entity_is_a_parse_error() -> None:
    error = refusal('<testsuite><testcase name="&xxe;"/></testsuite>')
    assert "undefined entity" in error.reason


def test_depth_limit() -> None:
    depth = 70
    deep = '<testsuite name="s">' * depth + '<testcase name="t"/>' + "</testsuite>" * depth
    assert "nested deeper than 64" in refusal(deep).reason
    assert parse(deep, max_depth=depth + 1).tests == (TestResult("t", "s", PASSED),)


def test_depth_limit_applies_inside_testcases_too() -> None:
    deep = '<testcase name="t"><failure>' + "<x>" * 10 + "</x>" * 10 + "</failure></testcase>"
    assert "nested deeper than 5" in refusal(deep, max_depth=5).reason
    assert parse(deep, max_depth=12).tests[0].status is FAILED


def test_byte_limit_on_bytes() -> None:
    xml = '<testsuite><testcase name="a"/></testsuite>'
    error = refusal(xml, max_bytes=len(xml) - 1)
    assert "limit" in error.reason and error.line is None
    assert parse(xml, max_bytes=len(xml)).totals.tests == 1


class CountingStream(io.RawIOBase):
    """A stream handing out at most ``step`` bytes per read, recording how much was read."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = data
        self.step = step
        self.position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.position : self.position + size]
        self.position += len(chunk)
        return chunk


def test_byte_limit_on_a_stream_stops_reading() -> None:
    body = '<testcase name="t"/>' * 10_000
    stream = CountingStream(f"<testsuite>{body}</testsuite>".encode(), step=4096)
    with pytest.raises(JunitParseError) as caught:
        parse_junit(stream, filename="s.xml", max_bytes=50_000)  # type: ignore[arg-type]
    assert "limit of 50000 bytes" in caught.value.reason
    assert stream.position <= 50_001


def test_case_limit() -> None:
    xml = "<testsuite>" + '<testcase name="t"/>' * 11 + "</testsuite>"
    assert "more than 10 testcases" in refusal(xml, max_cases=10).reason
    assert parse(xml, max_cases=11).totals.tests == 11


# --- input forms ------------------------------------------------------------------------------


def test_streams_in_small_reads_give_the_same_result() -> None:
    data = (DATA / "kubevirt-network-partial3_2failures_junit.xml").read_bytes()
    whole = parse_junit(data)
    assert parse_junit(CountingStream(data, step=7)) == whole  # type: ignore[arg-type]
    assert parse_junit(io.BytesIO(data)) == whole
    assert parse_junit(bytearray(data)) == whole
    assert parse_junit(memoryview(data)) == whole


def test_utf16_document() -> None:
    xml = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<testsuite name="ü"><testcase name="ß"/></testsuite>'
    )
    parsed = parse_junit(xml.encode("utf-16"))
    assert parsed.tests == (TestResult("ß", "ü", PASSED),)


def test_text_streams_and_other_types_are_rejected() -> None:
    with pytest.raises(TypeError):
        parse_junit(io.StringIO("<testsuite/>"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_junit("<testsuite/>")  # type: ignore[arg-type]


def test_output_is_frozen() -> None:
    parsed = parse('<testsuite><testcase name="a"/></testsuite>')
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.totals = CaseTotals(0, 0, 0, 0)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.tests[0].name = "b"  # type: ignore[misc]
    assert isinstance(parsed.tests, tuple)


def test_fast_result_constructor_matches_the_dataclass() -> None:
    fast = new_result("n", "s", FAILED, 1.5, "m")
    assert fast == TestResult("n", "s", FAILED, 1.5, "m")
    assert type(fast) is TestResult
    assert hash(fast) == hash(TestResult("n", "s", FAILED, 1.5, "m"))
    assert repr(fast) == repr(TestResult("n", "s", FAILED, 1.5, "m"))


# --- properties -------------------------------------------------------------------------------

_OUTCOMES = ["", "<failure/>", "<error/>", "<skipped/>", '<flakyFailure message="f"/>']


@st.composite
def junit_documents(draw: st.DrawFn) -> tuple[str, int, set[tuple[str, str]]]:
    """A random well-formed document, its number of testcases and its distinct identities."""
    identities: set[tuple[str, str]] = set()
    cases = 0

    def suite(level: int) -> str:
        nonlocal cases
        name = draw(st.sampled_from(["", "a", "b", "a b"]))
        parts = []
        for _ in range(draw(st.integers(0, 4))):
            if level < 3 and draw(st.booleans()):
                parts.append(suite(level + 1))
                continue
            test = draw(st.sampled_from(["t1", "t2", "t3"]))
            classname = draw(st.sampled_from(["", name, "k"]))
            time = draw(st.sampled_from(["", "0.5", "x", "-1"]))
            outcome = draw(st.sampled_from(_OUTCOMES))
            attributes = f'name="{test}" classname="{classname}" time="{time}"'
            parts.append(f"<testcase {attributes}>{outcome}</testcase>")
            cases += 1
            joined = test if not classname or classname == name else f"{classname}.{test}"
            identities.add((name, joined))
        return f'<testsuite name="{name}">{"".join(parts)}</testsuite>'

    body = "".join(suite(1) for _ in range(draw(st.integers(0, 3))))
    return f"<testsuites>{body}</testsuites>", cases, identities


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junit_documents())
def test_totals_count_every_generated_case(document: tuple[str, int, set[tuple[str, str]]]) -> None:
    xml, cases, identities = document
    parsed = parse(xml)
    totals = parsed.totals
    assert totals.tests == cases
    assert len(parsed.tests) <= cases
    assert {(r.suite, r.name) for r in parsed.tests} == identities
    assert len(parsed.tests) == len(identities)
    assert totals.failures + totals.errors + totals.skipped <= totals.tests
