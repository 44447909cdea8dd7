"""Preparing a run's or a file's tests for the SQLite backend, outside any lock.

Everything here is pure Python over the caller's :class:`~api.domain.TestResult` objects, so
it runs before ``BEGIN IMMEDIATE`` and keeps the write lock short.
"""

from __future__ import annotations

import hashlib
import marshal
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.domain import JunitFile, RunCounts, TestResult, TestStatus, truncate_message
from api.store.base import AttachedFile
from api.store.sqlite_codec import duration_ms, merge_entry

Entry = tuple[int, int | None, str | None]  # (status, duration_ms, message)

_VALID_STATUSES = frozenset(int(s) for s in TestStatus)


@dataclass(frozen=True, slots=True)
class Batch:
    """A run's or a file's tests, validated and deduplicated, as parallel lists."""

    keys: list[tuple[str, str]]
    statuses: list[int]
    durations: list[int | None]
    messages: list[tuple[int, str]]  # (index into keys, message), only where there is one

    def counts(self) -> RunCounts:
        return counts_of(Counter(self.statuses).items())

    def entries(self) -> dict[tuple[str, str], Entry]:
        text = dict(self.messages)
        return {
            key: (status, duration, text.get(i))
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
    messages = [
        (i, truncate_message(m)) for i, t in enumerate(items) if (m := t.message) is not None
    ]
    for key in set(keys):
        if not (isinstance(key[0], str) and isinstance(key[1], str)):
            raise TypeError(f"test suite and name must be text, got {key!r}")
    if len(set(keys)) == len(keys):
        return Batch(keys, statuses, durations, messages)
    text = dict(messages)
    merged: dict[tuple[str, str], Entry] = {}
    for i, key in enumerate(keys):
        merge_entries(merged, {key: (statuses[i], durations[i], text.get(i))})
    return batch_of(merged)


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
    )


def counts_of(tally: Iterable[tuple[int, int]]) -> RunCounts:
    n = [0, 0, 0, 0, 0]
    for status, count in tally:
        n[status] += count
    return RunCounts(total=sum(n), passed=n[0], failed=n[1], errors=n[2], skipped=n[3], flaked=n[4])


def fingerprint_of(triples: list[tuple[int, int, int | None]], messages: list[Any]) -> bytes:
    """Identity of a run's results as put: sorted by test id, which is stable per database.

    marshal format 2 (no back-references) serialises ints, None, str and tuples the same way
    every time and is ~8x faster than repr; a Python upgrade that changed it would only turn
    one identical re-put into an UPDATED write.
    """
    return hashlib.blake2b(marshal.dumps((triples, messages), 2), digest_size=16).digest()


EMPTY_FINGERPRINT = fingerprint_of([], [])


def count_columns(counts: RunCounts) -> tuple[int, ...]:
    return (
        counts.total,
        counts.passed,
        counts.failed,
        counts.errors,
        counts.skipped,
        counts.flaked,
    )
