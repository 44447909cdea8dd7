"""Preparing a run's or a file's tests for storage, outside any lock or request.

Backend-neutral: everything here is pure Python over the caller's
:class:`~api.domain.TestResult` objects, so it runs before a backend's transaction (SQLite's
``BEGIN IMMEDIATE``, BigQuery's compare-and-set) and keeps that short. Both backends validate,
deduplicate and merge a run's tests and attached files with these functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from api.domain import JunitFile, RunCounts, TestResult, TestStatus, truncate_message
from api.store.base import AttachedFile
from api.store.codec import duration_ms, merge_entry

Entry = tuple[int, int | None, str | None, bool]  # (status, duration_ms, message, informing)

_VALID_STATUSES = frozenset(int(s) for s in TestStatus)


@dataclass(frozen=True, slots=True)
class Batch:
    """A run's or a file's tests, validated and deduplicated, as parallel lists."""

    keys: list[tuple[str, str]]
    statuses: list[int]
    durations: list[int | None]
    messages: list[tuple[int, str]]  # (index into keys, message), only where there is one
    informing: list[int] = field(default_factory=list)  # indices of informing results

    def counts(self) -> RunCounts:
        return RunCounts.tally(Counter(self.statuses).items())

    def entries(self) -> dict[tuple[str, str], Entry]:
        text = dict(self.messages)
        informing = set(self.informing)
        return {
            key: (status, duration, text.get(i), i in informing)
            for i, (key, status, duration) in enumerate(
                zip(self.keys, self.statuses, self.durations, strict=True)
            )
        }


def prepare_tests(tests: Sequence[TestResult]) -> Batch:
    """Validate and flatten tests before any lock is taken.

    The common case (no repeated test) costs a few list comprehensions; repeats, which a run
    may hold at most once, are merged with :func:`api.domain.merge_status` like retries.
    """
    items = tests if isinstance(tests, list | tuple) else list(tests)
    keys = [(t.suite, t.name) for t in items]
    statuses = [t.status for t in items]
    for value in set(statuses):
        if isinstance(value, bool) or value not in _VALID_STATUSES:
            raise ValueError(f"invalid test status {value!r}")
    statuses = list(map(int, statuses))
    try:
        durations = [None if (d := t.duration_s) is None else round(d * 1000) for t in items]
        known = [d for d in durations if d is not None]
        if known and (max(known) >= 2**63 or min(known) < -(2**63)):
            raise OverflowError
    except (ValueError, OverflowError, TypeError):
        durations = [duration_ms(t.duration_s) for t in items]
    messages = [(i, _truncated(m)) for i, t in enumerate(items) if (m := t.message) is not None]
    informing = [i for i, t in enumerate(items) if t.informing]
    for key in set(keys):
        if not (isinstance(key[0], str) and isinstance(key[1], str)):
            raise TypeError(f"test suite and name must be text, got {key!r}")
    if len(set(keys)) == len(keys):
        return Batch(keys, statuses, durations, messages, informing)
    text = dict(messages)
    marked = set(informing)
    merged: dict[tuple[str, str], Entry] = {}
    for i, key in enumerate(keys):
        merge_entries(merged, {key: (statuses[i], durations[i], text.get(i), i in marked)})
    return batch_of(merged)


def _truncated(message: str) -> str:
    """:func:`truncate_message` of a present message (which it never turns into ``None``)."""
    truncated = truncate_message(message)
    assert truncated is not None
    return truncated


def merge_entries(into: dict[tuple[str, str], Entry],
                  more: Mapping[tuple[str, str], Entry]) -> None:
    """Fold ``more`` into ``into``: a test seen in both is merged like a retry."""
    for key, entry in more.items():
        into[key] = merge_entry(into[key], entry) if key in into else entry


def new_attachments(
    files: Sequence[AttachedFile], batches: Sequence[Batch], seen: set[str]
) -> tuple[tuple[bool, ...], list[JunitFile], dict[tuple[str, str], Entry]]:
    """Which of a request's files are new (by sha256: already attached, or repeated within the
    request), and the tests of the new ones merged into one entry per test."""
    seen = set(seen)
    added: list[bool] = []
    new_files: list[JunitFile] = []
    merged: dict[tuple[str, str], Entry] = {}
    for attached, batch in zip(files, batches, strict=True):
        sha = attached.file.sha256
        added.append(sha not in seen)
        if sha in seen:
            continue
        seen.add(sha)
        new_files.append(attached.file)
        if not merged:
            merged = batch.entries()  # the usual single file: nothing to merge yet
        else:
            merge_entries(merged, batch.entries())
    return tuple(added), new_files, merged


def batch_of(entries: dict[tuple[str, str], Entry]) -> Batch:
    keys = list(entries)
    values = list(entries.values())
    return Batch(
        keys,
        [v[0] for v in values],
        [v[1] for v in values],
        [(i, v[2]) for i, v in enumerate(values) if v[2] is not None],
        [i for i, v in enumerate(values) if v[3]],
    )
