"""When and how long to wait before re-sending a request.

Only idempotent calls are ever re-sent (see :mod:`client.api`). The delay is exponential
with *full jitter* (a uniform draw below the exponential ceiling), so that a fleet of CI jobs
that lost the server at the same moment does not come back in lock-step; a ``Retry-After``
from the server wins over our own guess, since it knows when it will have capacity again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Statuses worth re-sending: overload and transient server faults. 501 (not implemented) and
#: 505 (version not supported) will not change with time, so they are not retried.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryNotice:
    """What a client about to sleep before a re-send tells its caller (the CLI prints it, so
    that a person watching a job that lost the server sees why it is quiet)."""

    delay: float  # seconds about to be slept
    attempt: int  # the number of the attempt that follows the sleep (2 for the first retry)
    attempts: int  # attempts allowed in all
    reason: str  # "connection refused", "HTTP 503 unavailable", ...

    def describe(self) -> str:
        return (f"retrying in {self.delay:.1f} s (attempt {self.attempt} of {self.attempts}): "
                f"{self.reason}")


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5  # seconds; the ceiling before the first retry
    cap: float = 30.0  # no single jittered wait is longer than this
    retry_after_cap: float = 300.0  # a server asking for more than this is not waited for
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        if retry_after is not None:
            # A little jitter on top still spreads out clients told the same instant.
            return min(retry_after, self.retry_after_cap) + self.rng.uniform(0, self.base / 2)
        ceiling = min(self.cap, self.base * (2 ** attempt))
        return self.rng.uniform(0, ceiling)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # unparseable: fall back to our own backoff rather than fail
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
