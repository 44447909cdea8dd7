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

from collections.abc import Sequence
from dataclasses import dataclass

import re2

from api.failures.model import LineMatch, Pattern
from api.failures.regex import PATTERN_MAX_MEM, PatternRejected, as_regex, options, validate

#: The tracker kept the last 5,000 characters of a very long line; so does a match's line text.
MAX_LINE_CHARS = 5_000
#: Memory budget of one joined alternation (and of the per-line Set). Patterns that do not fit
#: in one are split over several alternations, each one more pass over the log.
COMBINED_MAX_MEM = 64 << 20


@dataclass(frozen=True, slots=True)
class _Entry:
    order: int
    pattern: Pattern
    regex: str
    compiled: re2._Regexp


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to scan a log of one step: its applicable patterns, grouped for the passes."""

    entries: tuple[_Entry, ...]
    whole: tuple[re2._Regexp, ...]  # alternations of the patterns that apply to every line
    tail: tuple[re2._Regexp, ...]  # alternations of the patterns with lines_from_end
    tail_lines: int  # the largest lines_from_end among them
    line_set: re2.Set | None  # which entries match one line (None: confirm each entry)


class CompiledSet:
    """Compiled non-retired patterns, reusable across logs and threads (plans are cached)."""

    def __init__(self, entries: tuple[_Entry, ...]) -> None:
        self._entries = entries
        self._plans: dict[tuple[int, ...], _Plan] = {}

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        return tuple(entry.pattern for entry in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def plan(self, step: str) -> _Plan:
        applicable = tuple(entry.order for entry in self._entries
                           if not entry.pattern.steps or step in entry.pattern.steps)
        plan = self._plans.get(applicable)
        if plan is None:
            plan = _make_plan(tuple(self._entries[order] for order in applicable))
            self._plans[applicable] = plan
        return plan


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
        confirm_options = options()
        confirm_options.never_capture = True
        entries.append(_Entry(len(entries), pattern, regex, re2.compile(regex, confirm_options)))
    return CompiledSet(tuple(entries))


def scan(compiled: CompiledSet, text: bytes | str, *, step: str,
         max_line_chars: int = MAX_LINE_CHARS) -> list[LineMatch]:
    """Every (pattern version, line) match of the patterns applicable to ``step`` in ``text``.

    One :class:`LineMatch` per matching pattern and line, for its first match in the line,
    sorted by line and then by the order the patterns were compiled in. The line text is cut to
    its last ``max_line_chars`` characters and the span moved with it (clamped to the kept
    text). A pattern with ``lines_from_end`` only matches that many lines from the log's end.
    """
    data = text.encode() if isinstance(text, str) else text
    if b"\r\n" in data:
        # Windows runners end lines with CRLF: `$` means before the CR too, and line text
        # carries no CR (the line count does not change).
        data = data.replace(b"\r\n", b"\n")
    plan = compiled.plan(step)
    if not plan.entries or not data:
        return []
    # The line count only matters to lines_from_end (counting costs a pass over the log).
    total = data.count(b"\n") + (0 if data.endswith(b"\n") else 1) if plan.tail else 0
    ends: dict[int, int] = {}
    for prefilter in plan.whole:
        _candidate_lines(prefilter, data, 0, ends)
    if plan.tail:
        tail_start = _line_start_from_end(data, plan.tail_lines, total)
        for prefilter in plan.tail:
            _candidate_lines(prefilter, data, tail_start, ends)
    matches: list[tuple[int, LineMatch]] = []
    line_number, counted_to = 1, 0
    for start in sorted(ends):
        line_number += data.count(b"\n", counted_to, start)
        counted_to = start
        line = data[start:ends[start]]
        for entry in _matching_entries(plan, line):
            lines_from_end = entry.pattern.lines_from_end
            if lines_from_end is not None and line_number <= total - lines_from_end:
                continue
            found = entry.compiled.search(line)
            if found is not None:
                start_byte, end_byte = found.span()
                matches.append((entry.order, _line_match(
                    entry.pattern, line_number, line, start_byte, end_byte, max_line_chars)))
    matches.sort(key=lambda item: (item[1].line_number, item[0]))
    return [match for _, match in matches]


def _candidate_lines(prefilter: re2._Regexp, data: bytes, position: int,
                     ends: dict[int, int]) -> None:
    """Record (start -> end) of every line from ``position`` on where ``prefilter`` matches."""
    size = len(data)
    while position < size:
        found = prefilter.search(data, position)
        if found is None:
            return
        hit_start, hit_end = found.span()
        # ``position`` is always a line start and no match spans a newline.
        start = data.rfind(b"\n", position, hit_start) + 1 or position
        end = data.find(b"\n", hit_end)
        ends[start] = size if end < 0 else end
        if end < 0:
            return
        position = end + 1


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
        line_set=_line_set(entries),
    )


def _alternations(regexes: list[str]) -> tuple[re2._Regexp, ...]:
    """As few multi-line alternations as fit the memory budget (halving until they do)."""
    if not regexes:
        return ()
    prefilter_options = options(COMBINED_MAX_MEM)
    prefilter_options.never_capture = True
    try:
        joined = "|".join(f"(?:{regex})" for regex in regexes)
        return (re2.compile(f"(?m){joined}", prefilter_options),)
    except re2.error:
        if len(regexes) == 1:
            # Validated alone within a smaller budget; compile it in its own memory bound.
            return (re2.compile(f"(?m)(?:{regexes[0]})", options(PATTERN_MAX_MEM)),)
        half = len(regexes) // 2
        return _alternations(regexes[:half]) + _alternations(regexes[half:])


def _line_set(entries: tuple[_Entry, ...]) -> re2.Set | None:
    line_set = re2.Set.SearchSet(options(COMBINED_MAX_MEM))
    try:
        for entry in entries:
            line_set.Add(entry.regex)
        line_set.Compile()
    except re2.error:
        return None
    return line_set
