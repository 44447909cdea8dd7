"""How long GitHub asks us to wait, read from one answer. Pure.

GitHub's documented rules ("Rate limits for the REST API"): a ``Retry-After`` header is the
number of seconds to wait; otherwise ``X-RateLimit-Remaining: 0`` means wait until the epoch
second in ``X-RateLimit-Reset``; a secondary limit without either header means wait at least a
minute. Primary and secondary limits answer 403 or 429.
"""

from __future__ import annotations

from collections.abc import Mapping

# GitHub: "If you receive a secondary rate limit and no header tells you when to retry, wait
# for at least one minute".
SECONDARY_DEFAULT_WAIT = 60.0
RATE_LIMIT_STATUSES = frozenset({403, 429})


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def exhausted_until(headers: Mapping[str, str]) -> float | None:
    """The epoch second the primary budget comes back when this answer used its last call."""
    if headers.get("X-RateLimit-Remaining", "").strip() != "0":
        return None
    return _number(headers.get("X-RateLimit-Reset"))


def rate_limit_wait(status: int, headers: Mapping[str, str], message: str,
                    now: float) -> float | None:
    """Seconds to wait before repeating a request that got this answer, or None when the answer
    is not a rate-limit refusal (a 403 for missing permissions is not)."""
    if status not in RATE_LIMIT_STATUSES:
        return None
    retry_after = _number(headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    reset = exhausted_until(headers)
    if reset is not None:
        # One second more: the reset second itself may still be refused.
        return max(0.0, reset - now) + 1.0
    if status == 429 or "rate limit" in message.lower():
        return SECONDARY_DEFAULT_WAIT
    return None
