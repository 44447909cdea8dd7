"""Bearer tokens with scopes ``read`` < ``write`` < ``admin``.

Tokens are stored as SHA-256 hashes: they are long random strings, so a slow password hash
buys nothing, and a fast one keeps every request's check cheap. The final comparison is
constant-time so response timing does not leak how much of a hash matched.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from api.db import get_store
from api.domain import Scope
from api.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_PREFIX = "fg_"


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
    """The token's scope (``None``: unknown token) and how the audit log names its holder."""
    digest = hash_token(token)
    admin = current_app.config.get("ADMIN_TOKEN")
    if admin and hmac.compare_digest(digest, hash_token(admin)):
        return Scope.ADMIN, "FLAKEGATE_ADMIN_TOKEN"
    # A hash prefix names the token in the audit log without revealing it.
    return get_store().find_token(digest), f"token sha256:{digest[:12]}"


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
                raise ApiError(401, "the bearer token is not valid", headers=challenge)
            if not scope.allows(needed):
                raise ApiError(403, f"this needs a token with scope '{needed.value}'; "
                                    f"yours has '{scope.value}'")
            g.scope = scope
            g.actor = actor
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
