"""Retries with exponential backoff on transient errors, and a shared request-rate limit.

Crawls talk to GCS and Prow's deck for hours; a 503 or a reset connection must cost a short
wait, not a build. Only errors that are plausibly transient are retried, and only a bounded
number of times (7 attempts by default), so a permanent problem surfaces quickly.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import requests

T = TypeVar("T")

#: HTTP statuses worth another try: throttling and server-side trouble.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class TransientError(Exception):
    """Raised by our own code for a failure worth retrying (e.g. a 503 from deck)."""


def is_transient(err: BaseException) -> bool:
    """Whether ``err`` is worth retrying: throttling, 5xx, timeouts, dropped connections."""
    if isinstance(err, TransientError | requests.ConnectionError | requests.Timeout
                  | ConnectionError | TimeoutError):
        return True
    try:
        from google.api_core import exceptions as gexc
    except ImportError:  # pragma: no cover - the gcs extra is installed with the crawler
        return False
    if isinstance(err, gexc.TooManyRequests | gexc.ServerError):
        return True
    code = getattr(err, "code", None)
    return isinstance(code, int) and code in TRANSIENT_STATUSES


@dataclass
class RetryPolicy:
    attempts: int = 7
    base: float = 0.5  # the ceiling of the first wait; doubles per attempt
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def call(self, fn: Callable[[], T], *, what: str = "request") -> T:
        """Run ``fn``, re-running it on transient errors with full-jitter backoff."""
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as err:
                if not is_transient(err) or attempt + 1 >= self.attempts:
                    raise
                # Full jitter: many workers hitting one throttled bucket spread out.
                self.sleep(self.rng.uniform(0, min(self.cap, self.base * 2 ** attempt)))
        raise AssertionError("unreachable")


class RateLimiter:
    """A token bucket shared by all workers: at most ``rate`` calls a second on average,
    bursts up to ``burst``. ``rate <= 0`` means no limit."""

    def __init__(self, rate: float, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1, int(rate)))
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                # The epsilon: a refill computed to reach exactly 1 may land a rounding error
                # short, and waiting that error out would spin forever.
                if self._tokens >= 1 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)
