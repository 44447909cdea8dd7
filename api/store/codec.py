"""Value encodings shared by the store backends: times, maps, durations, merged outcomes.

Backend-neutral: both :mod:`api.store.sqlite` and :mod:`api.store.bigquery` use them, so a
value is validated and encoded the same way whichever backend stores it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from api.domain import TestStatus, merge_outcome

if TYPE_CHECKING:
    from api.store.base import AuditEntry

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_INT64 = 2**63

STATUSES: tuple[TestStatus, ...] = tuple(TestStatus)  # index == persisted integer
# Outcomes whose message explains a failure (a flake's is that of its failing attempt).


def to_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware times")
    return (value - EPOCH) // _MICROSECOND


def from_us(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


def now_us() -> int:
    return time.time_ns() // 1000


def check_expected(expected: Mapping[str, Any]) -> None:
    """A payload's expectations must map job names to run counts (checked before writing)."""
    for job, runs in dict(expected).items():
        if not isinstance(job, str) or isinstance(runs, bool) or not isinstance(runs, int):
            raise TypeError(f"expected runs must map job names to integers: {job!r}: {runs!r}")


def dump_map(value: Mapping[str, Any] | None) -> str:
    """Canonical JSON, so stored and incoming maps compare as strings."""
    return json.dumps(dict(value or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_map(text: str) -> dict[str, Any]:
    return json.loads(text)


def duration_ms(seconds: float | None) -> int | None:
    """Milliseconds for storage; non-finite or absurd values are unknown rather than an error."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"duration_s must be a number, not {type(seconds).__name__}")
    scaled = seconds * 1000  # may overflow to inf even when seconds is finite
    if not math.isfinite(scaled):
        return None
    ms = round(scaled)
    return ms if -_INT64 < ms < _INT64 else None


def merge_entry(
    first: tuple[int, int | None, str | None, bool],
    second: tuple[int, int | None, str | None, bool],
) -> tuple[int, int | None, str | None, bool]:
    """:func:`api.domain.merge_outcome` over stored entries ``(status, duration_ms, message,
    informing)``; the result is informing when either is (a file that marks it so is believed).
    """
    status, duration, message = merge_outcome((STATUSES[first[0]], first[1], first[2]),
                                              (STATUSES[second[0]], second[1], second[2]))
    return int(status), duration, message, first[3] or second[3]


def audit_values(entry: AuditEntry) -> tuple[str | None, str | None]:
    """An audit entry's old and new values as JSON text (``None`` when it names no field)."""
    if entry.field is None:
        return None, None
    return (json.dumps(entry.old, sort_keys=True, ensure_ascii=False),
            json.dumps(entry.new, sort_keys=True, ensure_ascii=False))


def audit_value(text: str | None) -> object:
    return None if text is None else json.loads(text)
