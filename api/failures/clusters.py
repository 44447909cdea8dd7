"""The unexplained failures, clustered by their decisive line (issue 13 §6), pure.

A ``new`` failure's decisive line is its decisive match's line, or, with no match, the last
line near the end of the failed step's log that looks like an error (:func:`error_line`).
Lines are normalised (:func:`normalise`: UUIDs, hex ids, timestamps, IPs, paths, durations
and numbers collapse to placeholders) and equal normal forms form one cluster; clusters whose
token sets are near-equal (Jaccard at least ``similarity``) then merge into the larger one.
Each cluster keeps its count and a few examples, so the most common unexplained cause is one
click from becoming a pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from api.failures.model import Classification

# Order matters: the broad number rule comes last, or it would eat the digits of the others.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                r"[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
     "<time>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<date>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    # A hex id has a digit and a letter (so English words and plain numbers are left alone).
    (re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,}\b"), "<hex>"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+"), "<url>"),
    # A path starts at a root (/, ./, ~/, C:/) or has two slashes: "i/o" is not a path.
    (re.compile(r"(?:(?:\b[A-Za-z]:|\.{1,2}|~|(?<![\w/]))/[\w.@+-]+(?:/[\w.@+-]+)*"
                r"|\b[\w.@+-]+(?:/[\w.@+-]+){2,})"), "<path>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|m|h|sec|secs|seconds|minutes)\b"),
     "<duration>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"<\w+>|\w+|[^\w\s]")


def normalise(line: str) -> str:
    """``line`` with its variable parts collapsed to placeholders and spaces squeezed."""
    for pattern, placeholder in _RULES:
        line = pattern.sub(placeholder, line)
    return _SPACES.sub(" ", line).strip()


# Generic error cues, most telling first: the first cue found near the end decides, and its
# last occurrence there is the line. Case matters for FAIL/ERROR (shouting is a signal).
ERROR_CUES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bpanic:"),
    # The exception a traceback ends with says more than the traceback's first line.
    re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)(?::|$)"),
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r"\b(?:FAIL|FAILED|ERROR|FATAL)\b"),
    re.compile(r"\b(?:[Ee]rror|[Ff]atal|[Ee]xception)\b"),
    re.compile(r"\b[Kk]illed\b|\bOOM\b|[Oo]ut of memory"),
    re.compile(r"exit (?:code|status) [1-9]\d*|exited with (?:code )?[1-9]\d*"),
)
DEFAULT_TAIL = 200


def error_line(lines: Sequence[str], *, tail: int = DEFAULT_TAIL) -> tuple[int, str] | None:
    """The 1-based number and text of the line that looks most like the error near the end.

    Looks at the last ``tail`` lines only (the cause of a failure is near where it stopped);
    ``None`` when no cue is there.
    """
    start = max(0, len(lines) - tail)
    for cue in ERROR_CUES:
        for index in range(len(lines) - 1, start - 1, -1):
            if cue.search(lines[index]):
                return index + 1, lines[index]
    return None


@dataclass(frozen=True, slots=True)
class Unexplained:
    """One ``new`` failure's decisive line."""

    job: str
    run_id: str
    step: str
    line_number: int
    text: str


def unexplained(failure: Classification, step: str | None,
                lines: Sequence[str] | None) -> Unexplained | None:
    """A failure's decisive line: its decisive match's, else the error line of ``lines`` (the
    failed step ``step``'s log); ``None`` when neither is known."""
    if failure.decisive is not None:
        found = failure.decisive
        return Unexplained(failure.job, failure.run_id, found.step, found.line.line_number,
                           found.line.line_text)
    if step is None or lines is None:
        return None
    line = error_line(lines)
    return None if line is None else Unexplained(failure.job, failure.run_id, step, *line)


@dataclass(slots=True)
class Cluster:
    """Equal (or near-equal) normal forms: how many failures, and a few of them."""

    normal: str
    count: int = 0
    examples: list[Unexplained] = field(default_factory=list)
    tokens: frozenset[str] = frozenset()


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def cluster(items: Iterable[Unexplained], *, similarity: float | None = 0.8,
            examples: int = 3) -> list[Cluster]:
    """Cluster by normal form, most failures first (ties by normal form).

    With ``similarity`` set, a cluster whose tokens have Jaccard at least that with a larger
    cluster's joins it (greedy, largest first); ``None`` keeps exact normal forms only.
    """
    exact: dict[str, Cluster] = {}
    for item in items:
        normal = normalise(item.text)
        found = exact.get(normal)
        if found is None:
            found = exact[normal] = Cluster(normal, tokens=frozenset(_TOKEN.findall(normal)))
        found.count += 1
        if len(found.examples) < examples:
            found.examples.append(item)
    ordered = sorted(exact.values(), key=lambda c: (-c.count, c.normal))
    if similarity is None:
        return ordered
    merged: list[Cluster] = []
    for candidate in ordered:
        home = next((c for c in merged if jaccard(c.tokens, candidate.tokens) >= similarity),
                    None)
        if home is None:
            merged.append(candidate)
            continue
        home.count += candidate.count
        home.examples.extend(candidate.examples[:max(0, examples - len(home.examples))])
    return sorted(merged, key=lambda c: (-c.count, c.normal))
