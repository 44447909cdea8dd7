"""Bearer tokens with scopes ``read`` < ``write`` < ``admin``.

Tokens are stored as SHA-256 hashes: they are long random strings, so a slow password hash
buys nothing, and a fast one keeps every request's check cheap. The final comparison is
constant-time so response timing does not leak how much of a hash matched.

A stored token can be revoked or expire: either answers 401 from its next request. Its
``last_used_at`` is written at most once per :data:`TOUCH_EVERY`, so a busy token costs one
write a minute rather than one per request.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import current_app, g, request

from api.db import get_store
from api.domain import Scope
from api.errors import ApiError
from api.store import StoreError

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_PREFIX = "fg_"
TOUCH_EVERY = timedelta(minutes=1)
log = logging.getLogger(__name__)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _identify(token: str) -> tuple[Scope | None, str]:
    """The token's scope (``None``: not valid, with why in the second item) and how the
    audit log names its holder."""
    return identify_digest(hash_token(token))


def identify_digest(digest: str) -> tuple[Scope | None, str]:
    """:func:`_identify` of the token whose SHA-256 is ``digest`` (the pages' session keeps
    the digest, never the token)."""
    admin = current_app.config.get("ADMIN_TOKEN")
    if admin and hmac.compare_digest(digest, hash_token(admin)):
        return Scope.ADMIN, "FLAKEGATE_ADMIN_TOKEN"
    store = get_store()
    found = store.find_token(digest)
    now = datetime.now(UTC)
    if found is None:
        return None, "the bearer token is not valid"
    if found.revoked_at is not None:
        return None, "the bearer token was revoked"
    if not found.live(now):
        return None, "the bearer token has expired"
    if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
        try:
            store.touch_token(found.id, now)
        except StoreError as err:  # e.g. a read-only credential: the request still stands
            log.warning("could not record the use of token %s: %s", found.id, err)
    # The id (a hash prefix) names the token in the audit log without revealing it.
    return found.scope, f"token sha256:{found.id}"


def require(needed: Scope) -> Callable[[F], F]:
    """Decorate a view: the caller's token must have at least ``needed`` scope."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if needed is Scope.READ and current_app.config.get("PUBLIC_READ"):
                return view(*args, **kwargs)
            token = _bearer()
            challenge = {"WWW-Authenticate": 'Bearer realm="flakegate"'}
            if token is None:
                raise ApiError(401, "a bearer token is required (Authorization: Bearer ...)",
                               headers=challenge)
            scope, actor = _identify(token)
            if scope is None:
                raise ApiError(401, actor, headers=challenge)
            if not scope.allows(needed):
                raise ApiError(403, f"this needs a token with scope '{needed.value}'; "
                                    f"yours has '{scope.value}'")
            g.scope = scope
            g.actor = actor
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
