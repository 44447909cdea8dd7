"""Conformance of the JUnit parser with the expectations other projects publish for real files.

Walks ``../shared/fixtures/junit-corpus/`` and ``../shared/fixtures/prow/junit/`` and, for every
JUnit XML input that has an expectation, compares the per-file counts we produce with it:

* EnricoMi/publish-unit-test-result-action: ``<name>.results`` (pprint of the parsed cases) or
  ``<name>.exception`` beside ``<name>.xml`` -- machine-readable, read here.
* dorny/test-reporter: the rendered reports in ``__tests__/__outputs__/*.md`` ("**N** tests were
  completed ... with **P** passed, **F** failed and **S** skipped") -- read here. (SOURCES.txt
  mentions jest snapshots; this copy has none, the rendered reports carry the same counts.)
* mikepenz/action-junit-report and test-summary/action: their expectations live inline in
  ``__tests__/testParser.test.ts`` and ``test/junit.ts``, which this copy of the corpus does not
  include; the values below are transcribed from those files (mikepenz @ the vitest version that
  tests ``test_results/flaky_retries``, test-summary @ 01d9c8f).
* prow: the table in ``prow/README.md`` (Kettle semantics) -- read here.

Where we deliberately count differently, ``DELIBERATE_DISAGREEMENTS`` says why and
``OURS_INSTEAD`` pins what we produce. Non-JUnit formats are out of scope and are listed, not
silently dropped: ``test_inventory`` checks that list and that every JUnit-rooted ``.xml`` with an
expectation is covered.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import pytest

from api.domain import TestStatus
from api.junit import JunitParseError, ParsedJunit, parse_junit
from tests.fixtures import shared_fixtures

# Absent outside CI: the whole module skips (the unit tests in test_parser.py still run).
FIXTURES = shared_fixtures()

ENRICO = "junit-corpus/EnricoMi__publish-unit-test-result-action/python/test/files"
DORNY = "junit-corpus/dorny__test-reporter/__tests__"
MIKEPENZ = "junit-corpus/mikepenz__action-junit-report/test_results"
SUMMARY = "junit-corpus/test-summary__action/test/resources/junit"
PROW = "prow/junit"

JUNIT_ROOTS = frozenset({"testsuites", "testsuite", "testcase"})
OUT_OF_SCOPE_FORMATS = frozenset({"NUnit", "xUnit.net", "TRX", "JSON", "TAP", "Maven POM"})
_REPORT_SUFFIXES = (".xml", ".trx", ".json", ".tap")


@dataclass(frozen=True)
class Expectation:
    source: str
    values: Mapping[str, object] = field(default_factory=dict)  # quantity -> value
    raises: bool = False


def measure(parsed: ParsedJunit) -> dict[str, object]:
    """Every quantity an expectation may state, computed from our result.

    ``tests``..``failed`` count testcase elements (before retries are merged); ``unique_*``
    count merged results, the way tools that de-duplicate retries report them.
    """
    totals = parsed.totals
    merged = Counter(result.status for result in parsed.tests)
    return {
        "tests": totals.tests,
        "failures": totals.failures,
        "errors": totals.errors,
        "skipped": totals.skipped,
        "passed": totals.tests - totals.failures - totals.errors - totals.skipped,
        "failed": totals.failures + totals.errors,
        "unique": len(parsed.tests),
        "unique_skipped": merged[TestStatus.SKIPPED],
        "unique_failed": merged[TestStatus.FAILED] + merged[TestStatus.ERROR],
        "unique_passed": merged[TestStatus.PASSED] + merged[TestStatus.FLAKED],
        "flaky": merged[TestStatus.FLAKED],
        "retried": totals.tests - len(parsed.tests),
        "first_message": next((r.message for r in parsed.tests if r.message), None),
    }


# --- expectations transcribed from test code that is not in this copy of the corpus ------------

_MIKEPENZ_SOURCE = "mikepenz/action-junit-report __tests__/testParser.test.ts"
# parseFile(...) without checkRetries counts testcase elements; "failed" is the number of
# failure-level annotations the test asserts. With checkRetries the counts are per merged test.
MIKEPENZ_EXPECTED: dict[str, dict[str, object]] = {
    "tests/utils/target/surefire-reports/TEST-action.surefire.report.calc.CalcUtilsTest.xml": {
        "tests": 2, "skipped": 0, "failed": 2,
    },
    "python/report.xml": {"tests": 3, "skipped": 0, "failed": 2},
    "marathon_tests/com.mikepenz.DummyTest#test_02_dummy.xml": {
        "tests": 1, "skipped": 0, "failed": 0,
    },
    "marathon_tests/com.mikepenz.DummyTest3#test_01.xml": {"tests": 1, "skipped": 0, "failed": 1},
    "marathon_tests/com.mikepenz.DummyUtilTest#test_01_dummy.xml": {
        "tests": 1, "skipped": 0, "failed": 1,
    },
    "cunit/testEmpty.xml": {"tests": 0, "skipped": 0, "failed": 0},
    "cunit/testFailure.xml": {"tests": 4, "skipped": 0, "failed": 1},
    "nextest/basic.xml": {"tests": 3, "skipped": 0, "failed": 1},
    "nested/junit.xml": {"tests": 5, "skipped": 0, "failed": 3},
    "issues/testDisabled.xml": {"tests": 22, "skipped": 10, "failed": 6},
    "mocha/mocha.xml": {"tests": 1, "skipped": 0, "failed": 0},
    "xunit/report.xml": {"tests": 4, "skipped": 0, "failed": 1},
    "xunit/report_fl_on_f.xml": {"tests": 4, "skipped": 0, "failed": 1},
    "junit-web-test/expected.xml": {"tests": 6, "skipped": 1, "failed": 1},
    "perl/result.xml": {"tests": 1, "skipped": 0, "failed": 0},
    "container-structure/test.xml": {"tests": 3, "skipped": 0, "failed": 0},
    "catch2/report.xml": {"tests": 1, "skipped": 0, "failed": 1},
    "multiple_failures/test_multiple_failures.xml": {
        "tests": 4, "skipped": 1, "failed": 2, "passed": 1,
    },
    # Surefire <flakyFailure>: one test, passed after a rerun ("retries: 1, status: success").
    "junit_flaky_failure/marathon_junit_report.xml": {"tests": 1, "skipped": 0, "flaky": 1},
    "junit_flaky_failure/mixed_flaky_and_passed.xml": {
        "tests": 3, "skipped": 0, "failed": 0, "passed": 3, "flaky": 1,
    },
    # Repeated testcases, checkRetries=true.
    "junit-web-test/expectedRetries.xml": {"unique": 7, "unique_skipped": 1, "unique_failed": 1},
    "flaky_retries/flaky_with_classname_file.xml": {
        "unique": 3, "unique_skipped": 0, "unique_failed": 0, "unique_passed": 3, "retried": 2,
        "flaky": 1,
    },
    "flaky_retries/flaky_all_failures.xml": {
        "unique": 1, "unique_skipped": 0, "unique_failed": 1, "unique_passed": 0, "retried": 2,
    },
    "flaky_retries/flaky_success_first.xml": {
        "unique": 1, "unique_skipped": 0, "unique_failed": 0, "unique_passed": 1, "retried": 2,
        "flaky": 1,
    },
    "issues/testFailedDisabled.xml": {
        "unique": 1, "unique_skipped": 1, "unique_failed": 0, "unique_passed": 0,
    },
    "junit-server-test/report.xml": {
        "unique": 3, "unique_skipped": 1, "unique_failed": 0, "unique_passed": 2, "retried": 1,
        "flaky": 1,
    },
}  # fmt: skip
# parseTestReports on this truncated file reports it found but counts nothing.
MIKEPENZ_RAISES = ("corrupt-junit/e2e-tests/corrupt/target/sf-reports/TEST-test.CorruptTest.xml",)

_SUMMARY_SOURCE = "test-summary/action test/junit.ts"
SUMMARY_EXPECTED: dict[str, dict[str, object]] = {
    "01-common.xml": {"passed": 7, "failed": 1, "skipped": 0},
    "02-example.xml": {"passed": 21, "failed": 9, "skipped": 0},
    "03-junit.xml": {"passed": 4, "failed": 4, "skipped": 2},
    "04-bazel-junit.xml": {"passed": 1, "failed": 1, "skipped": 0},
    "05-empty.xml": {"passed": 0, "failed": 0, "skipped": 0},
    "06-empty.xml": {"passed": 0, "failed": 0, "skipped": 0},
    "07-no-failure-message.xml": {},  # "parses testsuite with no failure message": no error
    "08-failure-noattr-only-innertext.xml": {"first_message": "Failed!"},
}

# --- where we count differently on purpose -----------------------------------------------------

_KETTLE_SKIPS = (
    "Kettle defect: skipped testcases are dropped entirely (its tests_run counts only the run "
    "ones); we count every testcase and report the skips"
)
DELIBERATE_DISAGREEMENTS: dict[str, str] = {
    f"{ENRICO}/junit-xml/junit.multiresult.xml": (
        "a testcase holding both <failure> and <error> (pytest: failed call, erroring teardown) "
        "is one FAILED test for us, as api.domain ranks FAILED over ERROR; EnricoMi ranks error "
        "first"
    ),
    f"{ENRICO}/junit-xml/no-attributes.xml": (
        "EnricoMi drops testcases without a name; we keep them as '<unnamed N>' so that a "
        "nameless failure still fails the run"
    ),
    f"{MIKEPENZ}/junit-web-test/expected.xml": (
        'time="<<computed>>" puts a raw "<" in an attribute value, which is not well-formed XML; '
        "mikepenz's lenient parser reads it, we refuse the file with its line (SPEC 6)"
    ),
    f"{MIKEPENZ}/junit-web-test/expectedRetries.xml": (
        'time="<<computed>>" is not well-formed XML (raw "<" in an attribute value); refused'
    ),
    f"{PROW}/k8s-e2e-v1.35-ginkgo2-conformance_junit_01.xml": _KETTLE_SKIPS,
    f"{PROW}/k8s-e2e-v1.35-ginkgo2-1failed-HANDEDITED_junit_01.xml": _KETTLE_SKIPS,
    f"{PROW}/k8s-e2e-v1.33-ginkgo2-conformance_junit_01.xml": _KETTLE_SKIPS,
    f"{PROW}/kubevirt-functest-ginkgo1_1failure_junit.xml": _KETTLE_SKIPS,
    f"{PROW}/kubevirt-network-partial1_3failures_junit.xml": _KETTLE_SKIPS,
    f"{PROW}/kubevirt-network-partial3_2failures_junit.xml": _KETTLE_SKIPS,
    f"{PROW}/sonobuoy-k8s-e2e-ginkgo1-trimmed_junit.xml": _KETTLE_SKIPS,
    f"{PROW}/sonobuoy-cis-benchmark_junit.xml": _KETTLE_SKIPS,
    f"{PROW}/sonobuoy-multiple-suites_junit.xml": _KETTLE_SKIPS,
}

# What we produce instead, for each entry above: quantities, or {"error": part of the reason}.
OURS_INSTEAD: dict[str, dict[str, object]] = {
    f"{ENRICO}/junit-xml/junit.multiresult.xml": {
        "tests": 4, "failures": 2, "errors": 0, "skipped": 1,
    },
    f"{ENRICO}/junit-xml/no-attributes.xml": {"tests": 4, "failures": 1, "errors": 1, "skipped": 1},
    f"{MIKEPENZ}/junit-web-test/expected.xml": {"error": "not well-formed"},
    f"{MIKEPENZ}/junit-web-test/expectedRetries.xml": {"error": "not well-formed"},
    f"{PROW}/k8s-e2e-v1.35-ginkgo2-conformance_junit_01.xml": {
        "tests": 7353, "failures": 0, "errors": 0, "skipped": 6907,
    },
    f"{PROW}/k8s-e2e-v1.35-ginkgo2-1failed-HANDEDITED_junit_01.xml": {
        "tests": 7353, "failures": 1, "errors": 0, "skipped": 6907,
    },
    f"{PROW}/k8s-e2e-v1.33-ginkgo2-conformance_junit_01.xml": {
        "tests": 6735, "failures": 0, "errors": 0, "skipped": 6312,
    },
    f"{PROW}/kubevirt-functest-ginkgo1_1failure_junit.xml": {
        "tests": 1066, "failures": 1, "errors": 0, "skipped": 874,
    },
    f"{PROW}/kubevirt-network-partial1_3failures_junit.xml": {
        "tests": 273, "failures": 3, "errors": 0, "skipped": 247,
    },
    f"{PROW}/kubevirt-network-partial3_2failures_junit.xml": {
        "tests": 47, "failures": 2, "errors": 0, "skipped": 21,
    },
    f"{PROW}/sonobuoy-k8s-e2e-ginkgo1-trimmed_junit.xml": {
        "tests": 4, "failures": 1, "errors": 0, "skipped": 2,
    },
    f"{PROW}/sonobuoy-cis-benchmark_junit.xml": {
        "tests": 12, "failures": 6, "errors": 0, "skipped": 2,
    },
    f"{PROW}/sonobuoy-multiple-suites_junit.xml": {
        "tests": 2, "failures": 0, "errors": 0, "skipped": 2,
    },
}  # fmt: skip


# --- reading the machine-readable expectations -------------------------------------------------


def _relative(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()


def _enrico_expectations() -> dict[str, Expectation]:
    found: dict[str, Expectation] = {}
    for expectation in sorted((FIXTURES / ENRICO).rglob("*")):
        if expectation.suffix not in (".results", ".exception"):
            continue
        stem = expectation.name.removesuffix(expectation.suffix)  # names hold dots: junit.gloo.xml
        inputs = [
            expectation.with_name(stem + suffix)
            for suffix in _REPORT_SUFFIXES
            if expectation.with_name(stem + suffix).is_file()
        ]
        if not inputs:  # e.g. not-existing.exception: a missing-file case, nothing to parse
            continue
        source = f"EnricoMi {_relative(expectation)}"
        if expectation.suffix == ".exception":
            found[_relative(inputs[0])] = Expectation(source, raises=True)
            continue
        if expectation.with_name(stem + ".exception").is_file():
            continue  # the .results of a file that fails to parse is just empty
        results = re.findall(r"result='(\w+)'", expectation.read_text(encoding="utf-8"))
        found[_relative(inputs[0])] = Expectation(
            source,
            {
                "tests": len(results),
                "failures": results.count("failure"),
                "errors": results.count("error"),
                "skipped": results.count("skipped") + results.count("disabled"),
            },
        )
    return found


_DORNY_SUMMARY = re.compile(
    r"\*\*(\d+)\*\* tests were completed in \*\*[^*]+\*\* with \*\*(\d+)\*\* passed, "
    r"\*\*(\d+)\*\* failed and \*\*(\d+)\*\* skipped"
)


def _dorny_expectations() -> dict[str, Expectation]:
    found: dict[str, Expectation] = {}
    for report in sorted((FIXTURES / DORNY / "__outputs__").glob("*.md")):
        text = report.read_text(encoding="utf-8")
        link = re.search(r"\|\[(fixtures/[^\]]+)\]", text)
        summary = _DORNY_SUMMARY.search(text)
        assert link and summary, f"unexpected dorny report layout: {report}"
        tests, passed, failed, skipped = (int(n) for n in summary.groups())
        found[f"{DORNY}/{link.group(1)}"] = Expectation(
            f"dorny {_relative(report)}",
            {"tests": tests, "passed": passed, "failed": failed, "skipped": skipped},
        )
    return found


def _leading_int(cell: str) -> int:
    number = re.match(r"\d+", cell)
    assert number, f"prow/README.md: expected a count, got {cell!r}"
    return int(number.group())


def _prow_expectations() -> dict[str, Expectation]:
    """The README's Kettle table: ``tests_run`` becomes "tests", ``tests_failed`` "failures"."""
    found: dict[str, Expectation] = {}
    readme = (FIXTURES / "prow" / "README.md").read_text(encoding="utf-8")
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].split(" ")[0].endswith(".xml"):
            continue
        path = f"{PROW}/{cells[0].split(' ')[0]}"
        source = "prow/README.md (Kettle semantics)"
        if "ParseError" in cells[1]:
            found[path] = Expectation(source, raises=True)
            continue
        run, failed = (_leading_int(cell) for cell in cells[1:])
        found[path] = Expectation(source, {"tests": run, "failures": failed})
    return found


def _all_expectations() -> dict[str, Expectation]:
    found = _enrico_expectations()
    found.update(_dorny_expectations())
    for path, values in MIKEPENZ_EXPECTED.items():
        found[f"{MIKEPENZ}/{path}"] = Expectation(_MIKEPENZ_SOURCE, values)
    for path in MIKEPENZ_RAISES:
        found[f"{MIKEPENZ}/{path}"] = Expectation(_MIKEPENZ_SOURCE, raises=True)
    for path, values in SUMMARY_EXPECTED.items():
        found[f"{SUMMARY}/{path}"] = Expectation(_SUMMARY_SOURCE, values)
    found.update(_prow_expectations())
    return found


# --- the inputs and their formats --------------------------------------------------------------


class _Root(Exception):
    def __init__(self, tag: str) -> None:
        self.tag = tag


def _root_element(path: Path) -> str | None:
    """The document element's name, read with expat up to it (no entity is ever expanded)."""
    parser = expat.ParserCreate()

    def stop(tag: str, _attrs: dict[str, str]) -> None:
        raise _Root(tag)

    parser.StartElementHandler = stop
    try:
        parser.Parse(path.read_bytes(), True)
    except _Root as root:
        return root.tag
    except expat.ExpatError:
        return None
    return None


def report_format(path: Path) -> str:
    if path.suffix != ".xml":
        return {".trx": "TRX", ".json": "JSON", ".tap": "TAP"}[path.suffix]
    root = _root_element(path)
    if root in JUNIT_ROOTS:
        return "JUnit"
    if root in ("test-run", "test-results", "test-suite"):
        return "NUnit"
    if root in ("assemblies", "assembly"):
        return "xUnit.net"
    if root is not None and root.endswith("project"):
        return "Maven POM"
    return "unreadable XML" if root is None else f"<{root}>"


def _report_inputs() -> list[Path]:
    inputs = []
    for base in (FIXTURES / "junit-corpus", FIXTURES / PROW):
        for path in sorted(base.rglob("*")):
            if (
                path.is_file()
                and path.suffix in _REPORT_SUFFIXES
                and not path.name.endswith(".results.json")
            ):
                inputs.append(path)
    return inputs


EXPECTATIONS = _all_expectations()
INPUTS = {_relative(path): path for path in _report_inputs()}
FORMATS = {relative: report_format(path) for relative, path in INPUTS.items()}
CHECKED = sorted(
    relative
    for relative in INPUTS
    if relative in EXPECTATIONS
    and (EXPECTATIONS[relative].raises or FORMATS[relative] == "JUnit")
)
# Out of scope: every non-JUnit report (whether or not a project states an expectation for it).
SKIPPED_BY_FORMAT = sorted(
    (relative, FORMATS[relative])
    for relative in INPUTS
    if FORMATS[relative] != "JUnit" and relative not in CHECKED
)
JUNIT_INPUTS = sorted(relative for relative in INPUTS if FORMATS[relative] == "JUnit")


def _parse(relative: str) -> ParsedJunit:
    return parse_junit(INPUTS[relative].read_bytes(), filename=INPUTS[relative].name)


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", CHECKED)
def test_counts_agree_with_the_published_expectation(relative: str) -> None:
    expectation = EXPECTATIONS[relative]
    if relative in DELIBERATE_DISAGREEMENTS:
        ours = OURS_INSTEAD[relative]
        if "error" in ours:
            with pytest.raises(JunitParseError) as caught:
                _parse(relative)
            assert str(ours["error"]) in caught.value.reason
            assert not expectation.raises, "not a disagreement: they expect an error too"
            return
        measured = measure(_parse(relative))
        assert {key: measured[key] for key in ours} == ours
        stated = {key: measured[key] for key in expectation.values}
        assert stated != dict(expectation.values), "we agree now: drop the disagreement entry"
        return
    if expectation.raises:
        with pytest.raises(JunitParseError) as caught:
            _parse(relative)
        assert caught.value.filename == INPUTS[relative].name
        if "sec1752" in relative:  # the XXE cases: refused because of the DTD itself
            assert "DTD" in caught.value.reason
        return
    measured = measure(_parse(relative))
    assert {key: measured[key] for key in expectation.values} == dict(expectation.values), (
        expectation.source
    )


@pytest.mark.parametrize("relative", [r for r in DELIBERATE_DISAGREEMENTS if r.startswith(PROW)])
def test_prow_disagreements_are_exactly_the_dropped_skips(relative: str) -> None:
    kettle = EXPECTATIONS[relative].values
    totals = _parse(relative).totals  # measure()'s "tests", "skipped" and "failures"
    assert totals.tests - totals.skipped == kettle["tests"]
    assert totals.failures == kettle["failures"]


@pytest.mark.parametrize("relative", JUNIT_INPUTS)
def test_every_junit_input_parses_or_is_refused_cleanly(relative: str) -> None:
    try:
        parsed = _parse(relative)
    except JunitParseError as error:
        assert error.filename == INPUTS[relative].name
        assert error.reason
        return
    totals = parsed.totals
    assert len(parsed.tests) <= totals.tests
    assert totals.failures + totals.errors + totals.skipped <= totals.tests
    assert len({(r.suite, r.name) for r in parsed.tests}) == len(parsed.tests)


def test_inventory() -> None:
    # Transcribed expectations must name real files, and each disagreement a real expectation.
    assert sorted(path for path in EXPECTATIONS if path not in INPUTS) == []
    assert set(DELIBERATE_DISAGREEMENTS) == set(OURS_INSTEAD)
    assert set(DELIBERATE_DISAGREEMENTS) <= set(CHECKED)
    # Out-of-scope formats are skipped by name, never silently.
    assert SKIPPED_BY_FORMAT, "expected NUnit/xUnit/TRX/JSON/TAP inputs in the corpus"
    assert {fmt for _, fmt in SKIPPED_BY_FORMAT} <= OUT_OF_SCOPE_FORMATS, SKIPPED_BY_FORMAT
    # Every input with an EnricoMi expectation file beside it was picked up ...
    for relative, path in INPUTS.items():
        stem = path.name.removesuffix(path.suffix)
        if any(path.with_name(stem + kind).is_file() for kind in (".results", ".exception")):
            assert relative in EXPECTATIONS, relative
    # ... and every JUnit-rooted .xml that has an expectation is checked.
    for relative in INPUTS:
        if relative.endswith(".xml") and FORMATS[relative] == "JUnit" and relative in EXPECTATIONS:
            assert relative in CHECKED
    # Each source contributed, and the flaky/retry cases are among the checked files.
    for prefix in (ENRICO, DORNY, MIKEPENZ, SUMMARY, PROW):
        assert any(relative.startswith(prefix) for relative in CHECKED), prefix
    assert {
        f"{MIKEPENZ}/flaky_retries/flaky_with_classname_file.xml",
        f"{MIKEPENZ}/junit_flaky_failure/marathon_junit_report.xml",
        f"{MIKEPENZ}/junit-server-test/report.xml",
    } <= set(CHECKED)
