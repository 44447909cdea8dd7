"""API tokens: minted here (the secret is shown once and stored only as its hash), listed
without their secrets, revoked with who did it recorded on the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.auth import hash_token, new_token
from api.domain import Page, Scope
from api.services.errors import InvalidInput
from api.store import Store, TokenInfo
from client.durations import parse_duration

# Longer-lived credentials than this should be rotated, not minted.
MAX_LIFETIME = timedelta(days=3650)


def expiry(*, expires_in: str | None, expires_at: datetime | None,
           now: datetime | None = None) -> datetime | None:
    """When a new token expires: ``expires_in`` (a duration such as ``90d``) from now, or
    ``expires_at``; at most one of them, in the future and within :data:`MAX_LIFETIME`."""
    now = now or datetime.now(UTC)
    if expires_in is not None and expires_at is not None:
        raise InvalidInput({"expires_in": ["give expires_in or expires_at, not both"]})
    if expires_in is not None:
        try:
            seconds = parse_duration(expires_in)
        except ValueError as err:
            raise InvalidInput({"expires_in": [str(err)]}) from None
        if not 0 < seconds <= MAX_LIFETIME.total_seconds():
            raise InvalidInput({"expires_in": ["must be more than 0s and at most 3650d"]})
        return now + timedelta(seconds=seconds)
    if expires_at is not None and not now < expires_at <= now + MAX_LIFETIME:
        raise InvalidInput({"expires_at": ["must be in the future, within 3650 days"]})
    return expires_at


def create(store: Store, *, scope: Scope, label: str,
           expires_at: datetime | None) -> tuple[str, TokenInfo]:
    """A new token: its secret (shown once, never stored) and its stored record."""
    secret = new_token()
    return secret, store.add_token(hash_token(secret), scope, label, expires_at)


def list_tokens(store: Store, *, limit: int, cursor: str | None) -> Page:
    return store.list_tokens(limit=limit, cursor=cursor)


def revoke(store: Store, token_id: str, *, actor: str) -> TokenInfo:
    """Revoke by id; the token's next request answers 401. Raises ``NotFound``."""
    return store.revoke_token(token_id, actor=actor, at=datetime.now(UTC))
