"""The scanner: which pattern versions match which lines of one step's log (SPEC §10).

Pure and linear-time. :func:`compile_patterns` turns the non-retired patterns into a reusable
:class:`CompiledSet`; :func:`scan` returns every (pattern version, line) match of one log. A log
is read as UTF-8 bytes split at ``\\n`` (``\\r\\n`` too); line numbers start at 1.

Why it is fast: scanning line by line from Python would cost a call per line, so the patterns
applicable to a step are joined into one RE2 alternation in multi-line mode (RE2 runs it as one
DFA pass, literals and regexes alike) that finds the *candidate* lines over the whole log; only
those lines are decoded and confirmed, by an RE2 ``Set`` saying which patterns match and one
search per matching pattern for its span. Newlines are counted with ``bytes.count`` between
hits. Patterns with ``lines_from_end`` only search the log's tail.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import re2

from api.failures.model import LineMatch, Pattern, PatternSyntax
from api.failures.regex import PATTERN_MAX_MEM, PatternRejected, as_regex, options, validate

#: The tracker kept the last 5,000 characters of a very long line; so does a match's line text.
MAX_LINE_CHARS = 5_000
#: Matches kept per pattern and log: a pattern matching every line of a 64 MiB log would
#: otherwise return (and have stored) a million of them.
MAX_MATCHES_PER_PATTERN = 1_000
#: Memory budget of the regex confirming one pattern on a candidate line: room for the DFA
#: states of the largest accepted program, so that RE2 does not fall back to its slower NFA.
CONFIRM_MAX_MEM = 8 << 20
#: Memory budget of one joined alternation (RE2's default): its program takes up to two thirds,
#: patterns that do not fit are split over several alternations, each one more pass over the
#: log. A larger DFA cache does not scan realistic logs faster, and on a pattern with
#: exponentially many DFA states it only delays RE2's fallback to its NFA (64 MiB: 7 s on a
#: 1 MiB line of `[ab]*a[ab]{20}`, 8 MiB: 1.4 s).
COMBINED_MAX_MEM = 8 << 20
#: Up to this many applicable patterns, all literal, are first looked for with ``bytes.find``
#: over the whole log (memchr-driven, several GB/s): a log containing none of them is done
#: without any per-line work. An incremental scan applies one new pattern to the whole history,
#: and most logs lack it; beyond a few literals one RE2 pass over the log is cheaper.
LITERAL_PREFILTER_MAX = 4


_STEPS_REMEMBERED = 1024
_NUMPY_FROM = 64 << 10
_NUMPY_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class _Entry:
    order: int
    pattern: Pattern
    regex: str
    compiled: re2._Regexp
    literal: bytes | None  # a literal pattern's UTF-8 text: bytes.find confirms it faster

    def span(self, line: bytes) -> tuple[int, int] | None:
        """The byte span of this pattern's first match in ``line``, if any."""
        if self.literal is not None:
            at = line.find(self.literal)
            return None if at < 0 else (at, at + len(self.literal))
        found = self.compiled.search(line)
        return None if found is None else found.span()


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to scan a log of one step: its applicable patterns, grouped for the passes."""

    entries: tuple[_Entry, ...]
    whole: tuple[re2._Regexp, ...]  # alternations of the patterns that apply to every line
    tail: tuple[re2._Regexp, ...]  # alternations of the patterns with lines_from_end
    tail_lines: int  # the largest lines_from_end among them
    line_set: re2.Set | None  # which entries match one line (None: confirm each entry)
    literals: tuple[bytes, ...] | None  # see LITERAL_PREFILTER_MAX (None: no such prefilter)


class CompiledSet:
    """Compiled non-retired patterns, reusable across logs and threads (plans are cached)."""

    def __init__(self, entries: tuple[_Entry, ...]) -> None:
        self._entries = entries
        self._plans: dict[tuple[int, ...], _Plan] = {}
        # Finding a step's applicable patterns costs a pass over them: done once per step
        # (up to a bound, since step names come from uploads), not once per log.
        self._by_step: dict[str, _Plan] = {}

    @property
    def entries(self) -> tuple[_Entry, ...]:
        return self._entries

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        return tuple(entry.pattern for entry in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def plan(self, step: str) -> _Plan:
        known = self._by_step.get(step)
        if known is not None:
            return known
        applicable = tuple(entry.order for entry in self._entries
                           if applies_to(entry.pattern, step))
        plan = self._plans.get(applicable)
        if plan is None:
            plan = _make_plan(tuple(self._entries[order] for order in applicable))
            self._plans[applicable] = plan
        if len(self._by_step) < _STEPS_REMEMBERED:
            self._by_step[step] = plan
        return plan


def applies_to(pattern: Pattern, step: str) -> bool:
    """Whether the pattern scans logs of ``step`` (no steps named: every step)."""
    return not pattern.steps or step in pattern.steps


def compile_patterns(patterns: Sequence[Pattern]) -> CompiledSet:
    """Compile the patterns that still scan (retired ones are skipped).

    Raises :class:`PatternRejected` naming the pattern when one is not valid any more.
    """
    entries: list[_Entry] = []
    for pattern in patterns:
        if pattern.retired is not None:
            continue
        try:
            validate(pattern.expression, pattern.syntax)
        except PatternRejected as rejected:
            raise PatternRejected(
                f"pattern {pattern.id} version {pattern.version}: {rejected.reason}") from None
        regex = as_regex(pattern.expression, pattern.syntax)
        # Only the whole match's span is needed: without captures RE2 finds it with its DFAs
        # instead of the much slower NFA (a 1 MiB line: 10 ms instead of seconds).
        confirm_options = options(CONFIRM_MAX_MEM)
        confirm_options.never_capture = True
        literal = pattern.expression.encode() if pattern.syntax is PatternSyntax.LITERAL else None
        entries.append(_Entry(len(entries), pattern, regex, re2.compile(regex, confirm_options),
                              literal))
    return CompiledSet(tuple(entries))


def scan(compiled: CompiledSet, text: bytes | str, *, step: str,
         max_line_chars: int = MAX_LINE_CHARS,
         max_matches_per_pattern: int = MAX_MATCHES_PER_PATTERN) -> list[LineMatch]:
    """Every (pattern version, line) match of the patterns applicable to ``step`` in ``text``.

    One :class:`LineMatch` per matching pattern and line, for its first match in the line,
    sorted by line and then by the order the patterns were compiled in. The line text is cut to
    its last ``max_line_chars`` characters and the span moved with it (clamped to the kept
    text). A pattern with ``lines_from_end`` only matches that many lines from the log's end.
    A pattern keeps its last ``max_matches_per_pattern`` matches in the log (the latest match
    is the one §10's precedence prefers), so that one matching every line stays cheap to keep.
    """
    # A str may hold lone surrogates (bytes decoded with surrogateescape): they become invalid
    # UTF-8 here and U+FFFD in line texts, never an error.
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    # find() of one byte is memchr, many times faster than searching for two.
    if data.find(b"\r") >= 0 and b"\r\n" in data:
        # Windows runners end lines with CRLF: `$` means before the CR too, and line text
        # carries no CR (the line count does not change).
        data = data.replace(b"\r\n", b"\n")
    plan = compiled.plan(step)
    if not plan.entries or not data:
        return []
    # A line matching a literal contains it, so a log containing none of them has no match.
    if plan.literals is not None and not any(literal in data for literal in plan.literals):
        return []
    # The line count only matters to lines_from_end (counting costs a pass over the log).
    total = _newlines(data, 0, len(data)) + (not data.endswith(b"\n")) if plan.tail else 0
    ends: dict[int, int] = {}
    for prefilter in plan.whole:
        _candidate_lines(prefilter, data, 0, ends)
    if plan.tail:
        tail_start = _line_start_from_end(data, plan.tail_lines, total)
        for prefilter in plan.tail:
            _candidate_lines(prefilter, data, tail_start, ends)
    # Per pattern its latest (line number, line, byte span)s: LineMatches are built for these.
    kept: dict[int, deque[tuple[int, bytes, int, int]]] = {}
    line_number, counted_to = 1, 0
    for start in sorted(ends):
        line_number += _newlines(data, counted_to, start)
        counted_to = start
        line = data[start:ends[start]]
        for entry in _matching_entries(plan, line):
            lines_from_end = entry.pattern.lines_from_end
            if lines_from_end is not None and line_number <= total - lines_from_end:
                continue
            span = entry.span(line)
            if span is not None:
                latest = kept.setdefault(entry.order, deque(maxlen=max_matches_per_pattern))
                latest.append((line_number, line, *span))
    ordered = sorted((number, order, line, start_byte, end_byte)
                     for order, latest in kept.items()
                     for number, line, start_byte, end_byte in latest)
    entries = compiled.entries
    return [_line_match(entries[order].pattern, number, line, start_byte, end_byte,
                        max_line_chars)
            for number, order, line, start_byte, end_byte in ordered]


def _candidate_lines(prefilter: re2._Regexp, data: bytes, position: int,
                     ends: dict[int, int]) -> None:
    """Record (start -> end) of every line from ``position`` on where ``prefilter`` matches."""
    # The prefilter's matches run to their line's end (see _alternations): one per line.
    for found in prefilter.finditer(data, position):
        hit_start, end = found.span()
        # ``position`` is a line start and no match spans a newline.
        ends[data.rfind(b"\n", position, hit_start) + 1 or position] = end
        position = end + 1


def _newlines(data: bytes, start: int, end: int) -> int:
    """How many ``\\n`` in ``data[start:end]``: line numbers cost one such count per log."""
    if end - start < _NUMPY_FROM:
        return data.count(b"\n", start, end)
    # numpy compares a MiB at a time about five times faster than bytes.count (measured).
    view = np.frombuffer(data, np.uint8)
    return sum(int(np.count_nonzero(view[at:min(at + _NUMPY_CHUNK, end)] == 10))
               for at in range(start, end, _NUMPY_CHUNK))


def _line_start_from_end(data: bytes, lines: int, total: int) -> int:
    """Byte offset where the last ``lines`` lines begin."""
    if lines >= total:
        return 0
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(lines):
        end = data.rfind(b"\n", 0, end)
    return end + 1


def _matching_entries(plan: _Plan, line: bytes) -> Sequence[_Entry]:
    if plan.line_set is not None:
        indices = plan.line_set.Match(line)
        if indices:
            return [plan.entries[index] for index in sorted(indices)]
    # No Set, or it found nothing on a line the alternation matched (RE2 gives up on a Set
    # whose DFA runs out of memory): confirm every applicable pattern, which is always right.
    return plan.entries


def _line_match(pattern: Pattern, line_number: int, line: bytes, start: int, end: int,
                max_line_chars: int) -> LineMatch:
    text = line.decode("utf-8", "replace")
    if not line.isascii():
        # Spans are in bytes; a person and the API count characters.
        start, end = (len(line[:start].decode("utf-8", "replace")),
                      len(line[:end].decode("utf-8", "replace")))
    cut = max(0, len(text) - max_line_chars)
    if cut:
        text = text[cut:]
        start = max(0, start - cut)
        end = max(start, end - cut)
    end = min(end, len(text))
    return LineMatch(pattern.id, pattern.version, line_number, min(start, end), end, text)


def _make_plan(entries: tuple[_Entry, ...]) -> _Plan:
    whole = [entry.regex for entry in entries if entry.pattern.lines_from_end is None]
    tail = [entry for entry in entries if entry.pattern.lines_from_end is not None]
    return _Plan(
        entries=entries,
        whole=_alternations(whole),
        tail=_alternations([entry.regex for entry in tail]),
        tail_lines=max((entry.pattern.lines_from_end or 0 for entry in tail), default=0),
        # With one pattern a candidate line is its match: no Set to ask.
        line_set=_line_set(entries) if len(entries) > 1 else None,
        literals=_literals(entries),
    )


def _literals(entries: tuple[_Entry, ...]) -> tuple[bytes, ...] | None:
    literals = tuple(entry.literal for entry in entries if entry.literal is not None)
    if len(literals) != len(entries) or len(literals) > LITERAL_PREFILTER_MAX:
        return None
    return literals


def _alternations(regexes: list[str]) -> tuple[re2._Regexp, ...]:
    """As few multi-line alternations as fit the memory budget (halving until they do)."""
    if not regexes:
        return ()
    # Multi-line, so that ^ and $ are line boundaries in the whole log; every match extends to
    # its line's end, so that the next search starts on the next line.
    joined = "(?m)(?:" + "|".join(f"(?:{regex})" for regex in regexes) + ")[^\\n]*"
    try:
        return (re2.compile(joined, _prefilter_options(COMBINED_MAX_MEM)),)
    except re2.error:
        if len(regexes) == 1:
            # Validated alone within a smaller budget; compile it in its own memory bound.
            return (re2.compile(joined, _prefilter_options(PATTERN_MAX_MEM)),)
        half = len(regexes) // 2
        return _alternations(regexes[:half]) + _alternations(regexes[half:])


def _prefilter_options(max_mem: int) -> re2.Options:
    prefilter_options = options(max_mem)
    prefilter_options.never_capture = True
    return prefilter_options


def _line_set(entries: tuple[_Entry, ...]) -> re2.Set | None:
    # A Set's DFA never falls back to the NFA: on a pattern with exponentially many DFA states
    # a larger budget only makes it build more of them before it gives up.
    line_set = re2.Set.SearchSet(options(CONFIRM_MAX_MEM))
    try:
        for entry in entries:
            line_set.Add(entry.regex)
        line_set.Compile()
    except re2.error:
        return None
    return line_set
