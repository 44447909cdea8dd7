from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from client.retry import Backoff, parse_retry_after


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    backoff = Backoff(base=0.5, cap=30.0, rng=random.Random(7))
    for attempt in range(12):
        ceiling = min(30.0, 0.5 * 2 ** attempt)
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        # Jitter: the draws spread over the range instead of all being the ceiling.
        assert max(delays) - min(delays) > ceiling / 2


def test_retry_after_wins_and_is_capped() -> None:
    backoff = Backoff(base=0.5, retry_after_cap=60.0, rng=random.Random(1))
    assert 10.0 <= backoff.delay(0, retry_after=10.0) <= 10.25
    assert 60.0 <= backoff.delay(5, retry_after=3600.0) <= 60.25


@pytest.mark.parametrize(("header", "expected"), [
    ("5", 5.0), (" 120 ", 120.0), ("0", 0.0),
    ("Sun, 22 Nov 2026 08:00:30 GMT", 30.0),
    ("Sun, 22 Nov 2026 07:00:00 GMT", 0.0),  # in the past: retry now
    (None, None), ("", None), ("soon", None), ("-3", None),
])
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == expected
