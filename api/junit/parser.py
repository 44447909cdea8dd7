"""A pure, streaming, hardened JUnit XML parser.

``parse_junit(bytes_or_binary_stream)`` returns the file's test results merged per identity, the
raw per-testcase totals and the totals the root element claims. It reads nothing but the bytes it
is given and never builds a tree: the stdlib expat parser calls back per element, so memory stays
flat whatever the file's shape (lxml's iterparse measured no faster here, keeps every element
that is not explicitly cleared, and cannot refuse a DTD before libxml2 has read it).

Documents
    The root must be ``<testsuites>``, ``<testsuite>`` or a bare ``<testcase>`` (some one-test
    reporters write that); any other root is refused as "not a JUnit XML document". Suites nest at
    any depth and testcases are read wherever they appear: Kettle only reads direct
    ``<testsuite>/<testcase>`` children and so loses deeper suites.

Identity ``(suite, name)``
    * ``suite`` is the ``name`` of the innermost enclosing ``<testsuite>`` (``""`` if none).
    * ``name`` is the testcase's ``name``, prefixed with ``"<classname>."`` unless the
      ``classname`` is empty, equals the suite name (Surefire, Go, Ginkgo repeat the suite there)
      or already occurs inside the name (Jest and Mocha reporters put the describe-path in both).
      pytest, which names every suite "pytest", thus yields
      ``("pytest", "tests.test_x.TestY.test_z")`` and two classes' ``test_z`` never collide.
      The rule looks only at the testcase and its suite, so identity is stable from run to run.
    * A testcase without a ``name`` is named ``"<unnamed N>"`` (N counting such testcases in the
      file) rather than dropped or merged with its nameless neighbours: merging would turn a
      failure next to a pass into a flake.

Status of one ``<testcase>``
    * Child elements: ``<failure>`` is FAILED, ``<error>`` ERROR, ``<skipped>`` SKIPPED, none
      PASSED. Several are combined with :func:`api.domain.merge_status`, so a pytest testcase with
      a failed call and an erroring teardown is FAILED (the domain ranks the specific report
      first), and a ``<skipped>`` yields to a real outcome.
    * Surefire reruns: ``<flakyFailure>``/``<flakyError>`` mean the test passed after failing
      (FLAKED); ``<rerunFailure>``/``<rerunError>`` mean every rerun failed too (FAILED/ERROR).
      Both are modelled as extra failing attempts merged into the primary outcome.
    * A ``status=`` attribute (Ginkgo v2, Bazel/gtest, tst, CTest ...): a skip-like value
      (``skipped``, ``disabled``, ``notrun``, ``pending`` ...) makes the test SKIPPED even if a
      stale ``<failure>`` is present; ``failed``/``error``-like values apply when no child element
      says otherwise; pass-like and unknown values change nothing (the children are more
      specific).
    * Repeated testcases with one identity in a file are retries: their statuses are merged with
      ``merge_status`` (failed then passed is FLAKED), known durations add up, and their
      failure texts are joined (cut to the limit, which keeps the first and the latest).

Suite-level failures
    An ``<error>`` or ``<failure>`` that is a direct child of a ``<testsuite>`` (Ant, Gradle and
    others write one when the test class failed to initialise, with ``errors="1"`` and often no
    testcase at all) becomes one ERROR or FAILED result with identity
    ``(suite, "<suite> (suite setup)")`` (``"(suite setup)"`` for a nameless suite), keeping
    its message like a testcase's. Dropping it, as flakegate once did, made every test of a class
    that never loaded merely absent, and the payload passed. As Jenkins' JUnit plugin does, the
    result is added in addition to any testcases the suite also has (their outcomes stand), and
    it is counted in ``totals`` like a testcase. Several in one suite merge as retries.

Lifecycle
    ``lifecycle="informing"`` on a ``<testcase>`` (read by OpenShift's job-run-aggregator: the
    test is reported but must not block) puts the test's identity in ``informing``; a test is
    informing if any of its repeated testcases says so. It travels beside the results, and
    :meth:`ParsedJunit.results` sets each result's ``informing`` flag from it.

Encodings
    Any encoding Python's codecs know is read, per the BOM or the XML declaration; those expat
    does not decode itself are transcoded to UTF-8 as the file streams (see
    :mod:`api.junit._encoding`). An unknown encoding name, or bytes the declared encoding cannot
    decode, is a :class:`JunitParseError`.

Messages
    Only FAILED, ERROR and FLAKED results carry one; skip reasons are dropped (they are
    boilerplate like "skipped" on thousands of Ginkgo specs and the message field is the failure
    text). A result element's ``message`` attribute and its text are both kept unless the text
    already contains the attribute; ``system-out``/``system-err`` are never included. ANSI escape
    sequences are stripped (also in the ``\\ufffd[`` form Go writes), and the text is cut to
    ``message_limit`` characters keeping head and tail (``api.domain.truncate_message``). A raw
    ESC byte is not allowed in XML 1.0 but common in captured output; in UTF-8/ASCII documents it
    is rewritten to U+FFFD before parsing, as Go does, instead of failing the whole file (in
    documents expat reads as UTF-8 or ASCII, and in those transcoded to UTF-8).

Durations
    ``time=`` in seconds. Anything that is not a finite, non-negative number ("", "N/A", NaN,
    inf, -1) gives ``duration_s=None`` but keeps the test. A comma is accepted only as en-US
    thousands grouping with a decimal part ("1,234.5"), the form Surefire writes for long runs;
    "1,5" or "1,234" are ambiguous (decimal comma?) and give ``None``.

Counts
    ``totals`` counts the testcase elements as they appear (before merging retries): FAILED,
    ERROR and SKIPPED are counted as such, PASSED and FLAKED only in ``tests``. ``declared`` is
    what the root element's ``tests``/``failures``/``errors``/``skipped`` (``skips``, plus
    ``disabled``) attributes claim, or ``None`` when the root has no ``tests`` attribute; it is
    reported, never trusted.

Hardening
    Any ``<!DOCTYPE`` (hence any DTD or entity declaration) is refused the moment expat reports
    it, before the internal subset is read, so nothing is expanded (billion laughs) or fetched
    (XXE). Input beyond ``max_bytes`` (counted as it streams), element nesting deeper than
    ``max_depth`` and more than ``max_cases`` testcases are refused. Every refusal and every
    malformed, truncated, empty or non-XML input raises :class:`JunitParseError` naming the file
    and, where known, expat's line number.
"""

from __future__ import annotations

import pyexpat
import typing

from api.domain import MESSAGE_LIMIT, TestResult, TestStatus, merge_status, truncate_message
from api.junit._encoding import as_expat_input, esc_tolerable, read_chunks
from api.junit._results import declared_counts, merge_repeat, new_result
from api.junit._text import (
    STATUS_ATTRIBUTE,
    compose_message,
    parse_seconds,
    status_from_attribute,
)
from api.junit.model import CaseTotals, JunitParseError, ParsedJunit, TooManyTestcases
from api.names import TEST_NAME_MAX, cut_test_name

__all__ = ["CaseTotals", "JunitParseError", "ParsedJunit", "parse_junit"]

_PASSED = TestStatus.PASSED
_FAILED = TestStatus.FAILED
_ERROR = TestStatus.ERROR
_SKIPPED = TestStatus.SKIPPED

# Child elements of <testcase> that decide its outcome: (status, is a rerun, keeps its text).
_RESULT_ELEMENTS: dict[str, tuple[TestStatus, bool, bool]] = {
    "failure": (_FAILED, False, True),
    "error": (_ERROR, False, True),
    "skipped": (_SKIPPED, False, False),
    "flakyFailure": (_FAILED, True, True),
    "flakyError": (_ERROR, True, True),
    "rerunFailure": (_FAILED, True, True),
    "rerunError": (_ERROR, True, True),
}
_KEEPS_MESSAGE = frozenset({_FAILED, _ERROR, TestStatus.FLAKED})
_QUIET_ELEMENTS = frozenset({"system-out", "system-err"})
# Result elements directly under <testsuite>: the suite itself failed (see "Suite-level failures").
_SUITE_FAULTS: dict[str, TestStatus] = {"failure": _FAILED, "error": _ERROR}
_SUITE_SETUP = "(suite setup)"
_ROOTS = frozenset({"testsuites", "testsuite", "testcase"})
_REPLACEMENT_CHARACTER = "\ufffd".encode()
_INF = float("inf")


def parse_junit(
    source: bytes | typing.BinaryIO,
    *,
    filename: str = "<junit>",
    max_bytes: int = 256 * 1024 * 1024,
    max_depth: int = 64,
    max_cases: int = 2_000_000,
    message_limit: int = MESSAGE_LIMIT,
) -> ParsedJunit:
    """Parse one JUnit XML document given as bytes or a binary stream (already decompressed).

    Test and suite names longer than :data:`api.names.TEST_NAME_MAX` are cut (counted in
    ``names_cut``); more than ``max_cases`` testcases raise :class:`TooManyTestcases`."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise JunitParseError(filename, None, f"input exceeds the limit of {max_bytes} bytes")
        chunks: typing.Iterable[bytes] = (data,)
    elif hasattr(source, "read"):
        chunks = read_chunks(source, filename, max_bytes)
    else:
        raise TypeError(f"source must be bytes or a binary stream, not {type(source).__name__}")
    fed, transcoded = as_expat_input(chunks, filename)
    return _Parse(filename, max_depth, max_cases, message_limit, transcoded).run(fed)


class _Parse:
    """One parse: expat callbacks accumulating results. Single use."""

    def __init__(
        self, filename: str, max_depth: int, max_cases: int, message_limit: int, transcoded: bool
    ) -> None:
        self.filename = filename
        self.max_depth = max_depth
        self.max_cases = max_cases
        self.message_limit = message_limit
        # For transcoded input the override makes expat ignore the declaration's original name.
        self.parser = pyexpat.ParserCreate("UTF-8" if transcoded else None, intern=None)
        # Transcoded input is UTF-8, where an ESC byte is always a whole character.
        self.rewrite_esc: bool | None = True if transcoded else None
        self.declared: CaseTotals | None = None
        self.root: str | None = None
        self.unnamed = 0
        self.names_cut = 0

    def cut(self, name: str) -> str:
        """A name within api.names.TEST_NAME_MAX (longer ones cut and counted)."""
        name, was_cut = cut_test_name(name)
        self.names_cut += was_cut
        return name

    def next_unnamed(self) -> str:
        self.unnamed += 1
        return f"<unnamed {self.unnamed}>"

    def refuse(self, reason: str) -> typing.NoReturn:
        raise JunitParseError(self.filename, self.parser.CurrentLineNumber, reason)

    def run(self, chunks: typing.Iterable[bytes]) -> ParsedJunit:
        parser = self.parser
        results, tally, informing = self._install_handlers()
        parser.buffer_text = True
        parser.buffer_size = 1 << 16
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.EntityDeclHandler = self._refuse_dtd
        parser.ExternalEntityRefHandler = self._refuse_dtd
        fed = 0
        rewrite_esc = self.rewrite_esc
        chunk = b""
        try:
            for chunk in chunks:
                if rewrite_esc is None:
                    rewrite_esc = esc_tolerable(chunk)
                if rewrite_esc and b"\x1b" in chunk:
                    # XML 1.0 forbids ESC, yet unescaped ANSI colours are common in test output.
                    # U+FFFD is what Go's encoder writes in its place; the message cleaner strips
                    # the sequence either way.
                    chunk = chunk.replace(b"\x1b", _REPLACEMENT_CHARACTER)
                parser.Parse(chunk, False)
                fed += len(chunk)
            if fed == 0:
                raise JunitParseError(self.filename, None, "empty input")
            chunk = b""
            parser.Parse(b"", True)
        except pyexpat.ExpatError as exc:
            raise self._syntax_error(exc, chunk, fed) from None
        tests, failures, errors, skipped = sum(tally), tally[1], tally[2], tally[3]
        return ParsedJunit(
            tests=tuple(results),
            totals=CaseTotals(tests=tests, failures=failures, errors=errors, skipped=skipped),
            declared=self.declared,
            informing=frozenset(informing),
            names_cut=self.names_cut,
        )

    def _refuse_dtd(self, *_: object) -> typing.NoReturn:
        self.refuse("a DTD (<!DOCTYPE ...>) is not allowed; refused without expanding or fetching")

    def _syntax_error(self, exc: pyexpat.ExpatError, chunk: bytes, fed: int) -> JunitParseError:
        reason = pyexpat.errors.messages[exc.code]
        if reason == pyexpat.errors.XML_ERROR_NO_ELEMENTS:
            # expat says "no element found" for a cut-off document as well as for an empty one.
            reason = "unexpected end of input (truncated?)" if self.root else "no root element"
        reason = f"{reason} at column {exc.offset + 1}"
        offset = self.parser.ErrorByteIndex - fed
        if 0 <= offset < len(chunk) and chunk[offset] < 0x20:
            reason += f": control character U+{chunk[offset]:04X} is not allowed in XML 1.0"
        return JunitParseError(self.filename, exc.lineno, reason)

    def _install_handlers(self) -> tuple[list[TestResult], list[int], set[tuple[str, str]]]:
        """Wire expat to closures. The per-element path runs ~30k times for a 7k-case Ginkgo file;
        closure variables are markedly cheaper there than attribute lookups on ``self``."""
        parser = self.parser
        max_depth = self.max_depth
        max_cases = self.max_cases
        limit = self.message_limit
        refuse = self.refuse
        cut, name_max = self.cut, TEST_NAME_MAX
        result_elements = _RESULT_ELEMENTS.get
        status_attribute = STATUS_ATTRIBUTE.get
        passed, skipped, keeps_message, infinity = _PASSED, _SKIPPED, _KEEPS_MESSAGE, _INF
        # Results in first-seen order, and per suite name where each test's result sits in it.
        # (Per-suite maps keyed by name avoid building a (suite, name) tuple for every testcase.)
        ordered: list[TestResult] = []
        index_by_suite: dict[str, dict[str, int]] = {"": {}}
        tally = [0, 0, 0, 0, 0]  # testcase elements per TestStatus value
        informing: set[tuple[str, str]] = set()
        # The enclosing suites' names and depths; -1: no suite is open.
        suites: list[tuple[str, int]] = []
        suite = ""
        suite_depth = -1
        seen = index_by_suite[""]
        depth = 0
        cases = 0
        # The open testcase, if any: its attributes, depth, outcome so far, rerun outcome, texts.
        case: dict[str, str] | None = None
        case_depth = 0
        case_status: TestStatus | None = None
        case_rerun: TestStatus | None = None
        case_texts: list[str] | None = None
        # The result element whose text is being collected, if any.
        text_depth = 0
        text_message: str | None = None
        text_parts: list[str] = []
        quiet_depth = 0
        # The status of the suite-level result element being read, if any.
        fault_status: TestStatus | None = None

        def remember(name: str, status: TestStatus, duration: float | None,
                     message: str | None) -> None:
            position = seen.get(name)
            if position is None:
                seen[name] = len(ordered)
                ordered.append(new_result(name, suite, status, duration, message))
            else:
                ordered[position] = merge_repeat(ordered[position], status, duration, message,
                                                 limit)

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal depth, cases, suite, suite_depth, seen, case, case_depth, case_status
            nonlocal case_rerun, text_depth, text_message, text_parts, quiet_depth, fault_status
            depth += 1
            if depth > max_depth:
                refuse(f"elements nested deeper than {max_depth} levels")
            if case is not None:
                found = result_elements(tag)
                if found is not None:
                    status, rerun, keeps_text = found
                    if rerun:
                        case_rerun = (
                            status if case_rerun is None else merge_status(case_rerun, status)
                        )
                    elif case_status is None:
                        case_status = status
                    else:
                        case_status = merge_status(case_status, status)
                    if keeps_text and not text_depth:
                        text_depth = depth
                        text_message = attrs.get("message")
                        text_parts = []
                        parser.CharacterDataHandler = text_parts.append
                elif text_depth and not quiet_depth and tag in _QUIET_ELEMENTS:
                    quiet_depth = depth
                    parser.CharacterDataHandler = None
            elif tag == "testcase":
                cases += 1
                if cases > max_cases:
                    raise TooManyTestcases(self.filename, parser.CurrentLineNumber, max_cases)
                case = attrs
                case_depth = depth
                case_status = case_rerun = None
            elif tag == "testsuite":
                suites.append((suite, suite_depth))
                suite = attrs.get("name") or ""
                if len(suite) > name_max:
                    suite = cut(suite)
                suite_depth = depth
                seen = index_by_suite.setdefault(suite, {})
            elif depth == suite_depth + 1 and tag in _SUITE_FAULTS and not text_depth:
                fault_status = _SUITE_FAULTS[tag]
                text_depth = depth
                text_message = attrs.get("message")
                text_parts = []
                parser.CharacterDataHandler = text_parts.append

        def end(tag: str) -> None:
            nonlocal depth, suite, suite_depth, seen, case, case_texts, text_depth, quiet_depth
            nonlocal fault_status
            if case is None:
                if tag == "testsuite":
                    suite, suite_depth = suites.pop()
                    seen = index_by_suite[suite]
                elif depth == text_depth and fault_status is not None:
                    parser.CharacterDataHandler = None
                    text_depth = 0
                    tally[fault_status] += 1
                    text = compose_message(text_message, "".join(text_parts))
                    remember(cut(f"{suite} {_SUITE_SETUP}") if suite else _SUITE_SETUP,
                             fault_status, None, truncate_message(text, limit))
                    fault_status = None
            elif depth == case_depth:
                # The testcase is complete. This runs once per testcase: kept inline for speed.
                attrs = case
                case = None
                name = attrs.get("name")
                if not name:
                    name = self.next_unnamed()
                classname = attrs.get("classname")
                if classname and classname != suite and classname not in name:
                    name = f"{classname}.{name}"
                if len(name) > name_max:
                    name = cut(name)

                status = case_status
                attribute = attrs.get("status")
                if attribute is not None:
                    claimed = status_attribute(attribute)
                    if claimed is None:  # not a common spelling: normalise case and spaces
                        claimed = status_from_attribute(attribute)
                    if claimed is skipped or (status is None and claimed is not None):
                        status = claimed
                if status is None:
                    status = passed
                if case_rerun is not None and status is not skipped:
                    status = merge_status(status, case_rerun)
                tally[status] += 1

                duration: float | None = None
                seconds = attrs.get("time")
                if seconds is not None:
                    try:
                        duration = float(seconds)
                    except ValueError:
                        duration = parse_seconds(seconds)
                    else:
                        if not 0.0 <= duration < infinity:
                            duration = None

                message = None
                if case_texts is not None:
                    if status in keeps_message:
                        message = truncate_message("\n\n".join(case_texts), limit)
                    case_texts = None

                lifecycle = attrs.get("lifecycle")
                if lifecycle is not None and lifecycle.strip().lower() == "informing":
                    informing.add((suite, name))
                remember(name, status, duration, message)
            elif depth == text_depth:
                parser.CharacterDataHandler = None
                text_depth = 0
                text = compose_message(text_message, "".join(text_parts))
                if text is not None:
                    if case_texts is None:
                        case_texts = []
                    case_texts.append(truncate_message(text, limit))
            elif depth == quiet_depth:
                quiet_depth = 0
                parser.CharacterDataHandler = text_parts.append
            depth -= 1

        def start_root(tag: str, attrs: dict[str, str]) -> None:
            if tag not in _ROOTS:
                refuse(f"not a JUnit XML document: the root element is <{tag}>")
            self.root = tag
            self.declared = declared_counts(attrs)
            parser.StartElementHandler = start
            start(tag, attrs)

        parser.StartElementHandler = start_root
        parser.EndElementHandler = end
        return ordered, tally, informing


