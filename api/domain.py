"""The domain's value types, shared by the parser, the statistics, the store and the services.

Everything here is a frozen dataclass or an enum: no I/O, no framework imports, so that the
pure modules (JUnit parsing, baselines, verdict policies) and every store backend agree on one
vocabulary.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar, overload

# Seconds (float) in the domain, milliseconds (int) in the store: merged alike.
Duration = TypeVar("Duration", int, float)


class TestStatus(enum.IntEnum):
    """A test's outcome within one run; the integer is what the store persists.

    ``FLAKED`` means the test failed and passed inside the same run (retries): it counts as a
    pass for the verdict but is recorded so that flakiness stays visible.
    """

    __test__ = False  # not a pytest test class

    PASSED = 0
    FAILED = 1
    ERROR = 2
    SKIPPED = 3
    FLAKED = 4

    @property
    def wire(self) -> str:
        return self.name.lower()

    @classmethod
    def from_wire(cls, value: str) -> TestStatus:
        return cls[value.upper()]

    @property
    def counts_as_pass(self) -> bool:
        return self in (TestStatus.PASSED, TestStatus.FLAKED)

    @property
    def counts_as_failure(self) -> bool:
        return self in (TestStatus.FAILED, TestStatus.ERROR)


class RunStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    ABORTED = "aborted"

    @property
    def finished(self) -> bool:
        return self is not RunStatus.PENDING

    @property
    def is_evidence(self) -> bool:
        """Infrastructure outcomes (error, aborted) never count as test evidence."""
        return self in EVIDENCE_STATUSES


# The one definition of which runs are test evidence: verdicts, baselines and both store
# backends' SQL (built from this tuple) agree on it. A tuple, so the SQL text is stable.
EVIDENCE_STATUSES: tuple[RunStatus, ...] = (RunStatus.SUCCESS, RunStatus.FAILURE)


def merge_status(first: TestStatus, second: TestStatus) -> TestStatus:
    """Combine two outcomes of one test inside one run (retries, or the same case in two files).

    A pass and a failure make a flake; a skip yields to any real outcome; two failures stay a
    failure (``FAILED`` wins over ``ERROR`` because it is the more specific report).
    """
    if first == second:
        return first
    if TestStatus.SKIPPED in (first, second):
        return second if first is TestStatus.SKIPPED else first
    if TestStatus.FLAKED in (first, second):
        return TestStatus.FLAKED
    if first.counts_as_pass != second.counts_as_pass:
        return TestStatus.FLAKED
    return TestStatus.FAILED


MESSAGE_LIMIT = 64 * 1024


@overload
def truncate_message(text: str, limit: int = MESSAGE_LIMIT) -> str: ...
@overload
def truncate_message(text: None, limit: int = MESSAGE_LIMIT) -> None: ...
@overload
def truncate_message(text: str | None, limit: int = MESSAGE_LIMIT) -> str | None: ...


def truncate_message(text: str | None, limit: int = MESSAGE_LIMIT) -> str | None:
    """Keep head and tail of an over-long failure text: the cause is usually at one end."""
    if text is None or len(text) <= limit:
        return text
    marker = f"\n... [{len(text) - limit} characters truncated] ...\n"
    keep = max(0, limit - len(marker))
    head = keep // 2
    return text[:head] + marker + text[len(text) - (keep - head) :]


def _explains_failure(status: TestStatus) -> bool:
    return status.counts_as_failure or status is TestStatus.FLAKED


def merge_outcome(
    first: tuple[TestStatus, Duration | None, str | None],
    second: tuple[TestStatus, Duration | None, str | None],
    *,
    limit: int = MESSAGE_LIMIT,
) -> tuple[TestStatus, Duration | None, str | None]:
    """The one rule for two outcomes ``(status, duration, message)`` of one test in one run.

    Every path that meets a repeated test uses it (inline tests of a ``PUT``, retries inside a
    JUnit file, a file merged into stored results), so they all store the same row:

    * the status is :func:`merge_status`;
    * durations add up (the test really ran that long in total), an unknown one counting 0;
      seconds or the store's milliseconds alike;
    * the message is every distinct failure text in order (a flake keeps why its failing
      attempt failed), cut head and tail at ``limit``; with no failure text, the first message
      of an outcome equal to the merged one (e.g. a skip reason).
    """
    status = merge_status(first[0], second[0])
    d1, d2 = first[1], second[1]
    duration = d2 if d1 is None else d1 if d2 is None else d1 + d2
    texts = [m for s, _, m in (first, second) if m is not None and _explains_failure(s)]
    if texts:
        joined = texts[0] if len(texts) == 1 or texts[0] == texts[1] else "\n\n".join(texts)
        return status, duration, truncate_message(joined, limit)
    same = [m for s, _, m in (first, second) if m is not None and s is status]
    return status, duration, same[0] if same else None


def merge_results(earlier: TestResult, later: TestResult, *,
                  limit: int = MESSAGE_LIMIT) -> TestResult:
    """Two results of one test ``(suite, name)`` in one run, merged by :func:`merge_outcome`."""
    status, duration, message = merge_outcome(
        (earlier.status, earlier.duration_s, earlier.message),
        (later.status, later.duration_s, later.message), limit=limit)
    return TestResult(earlier.name, earlier.suite, status, duration, message,
                      informing=earlier.informing or later.informing)


@dataclass(frozen=True, slots=True)
class TestResult:
    """One test's merged outcome in one run. Identity is ``(suite, name)``."""

    __test__ = False

    name: str
    suite: str
    status: TestStatus
    duration_s: float | None = None
    message: str | None = None
    informing: bool = False  # JUnit lifecycle="informing" (or inline "informing"): never blocks


@dataclass(frozen=True, slots=True)
class RunCounts:
    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaked: int = 0

    @classmethod
    def of(cls, results: Iterable[TestResult]) -> RunCounts:
        return cls.tally((result.status, 1) for result in results)

    @classmethod
    def tally(cls, counted: Iterable[tuple[int, int]]) -> RunCounts:
        """The counts of ``(status, how many)`` pairs (a status may repeat): the one status
        tally of the code base, shared by the domain and every store backend."""
        tally = [0, 0, 0, 0, 0]
        for status, count in counted:
            tally[status] += count
        return cls(
            total=sum(tally),
            passed=tally[TestStatus.PASSED],
            failed=tally[TestStatus.FAILED],
            errors=tally[TestStatus.ERROR],
            skipped=tally[TestStatus.SKIPPED],
            flaked=tally[TestStatus.FLAKED],
        )


@dataclass(frozen=True, slots=True)
class JunitFile:
    """A JUnit file attached to a run, identified by the sha256 of its (decompressed) bytes."""

    name: str
    sha256: str
    tests: int


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a client may set on a job. ``None`` fields keep the stored value on update."""

    name: str
    variant: Mapping[str, str] | None = None
    policy: str | None = None
    expected_runs: int | None = None
    settings: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    variant: Mapping[str, str] = field(default_factory=dict)
    policy: str | None = None
    expected_runs: int | None = None
    settings: Mapping[str, object] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A run as a client puts it. Times are timezone-aware; the store keeps UTC microseconds."""

    job: str
    run_id: str
    status: RunStatus
    payload: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    url: str | None = None
    variant: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Run:
    """A stored run: its spec plus what the store derived."""

    spec: RunSpec
    counts: RunCounts
    files: tuple[JunitFile, ...]
    created_at: datetime
    updated_at: datetime


class WriteOutcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Payload:
    id: str
    expected: Mapping[str, int] = field(default_factory=dict)  # job name -> expected runs
    deadline: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Scope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        order = (Scope.READ, Scope.WRITE, Scope.ADMIN)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; ``next_cursor`` is opaque to callers and ``None`` at the end."""

    items: tuple
    next_cursor: str | None



# -- job settings changes (the audit log's field entries) -------------------------------------

FieldChange = tuple[str, object, object]  # (field, old JSON value, new JSON value)


def job_field_changes(old: Job | None, spec: JobSpec) -> list[FieldChange]:
    """What ``spec`` would change in ``old`` (``None``: a job not created yet), field by field.

    ``variant``, ``policy`` and ``expected_runs`` are fields of their own; each key of
    ``settings`` is one field named as the key (no setting shares a name with a job field),
    since a ``settings`` put replaces the whole map. An absent value is ``None``.
    """
    changes: list[FieldChange] = []
    before: dict[str, object] = {
        "variant": dict(old.variant) if old else {},
        "policy": old.policy if old else None,
        "expected_runs": old.expected_runs if old else None,
    }
    for name in ("variant", "policy", "expected_runs"):
        value = getattr(spec, name)
        if value is None:
            continue
        value = dict(value) if name == "variant" else value
        if value != before[name]:
            changes.append((name, before[name], value))
    if spec.settings is not None:
        current = dict(old.settings) if old else {}
        wanted = dict(spec.settings)
        for key in sorted(set(current) | set(wanted)):
            if current.get(key) != wanted.get(key) or (key in current) != (key in wanted):
                changes.append((key, current.get(key), wanted.get(key)))
    return changes
