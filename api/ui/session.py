"""Who reads a page: the signed session cookie of ``/ui/login``, or anyone when the pages are
open to read (``FLAKEGATE_PUBLIC_READ=1``).

The cookie holds the token's SHA-256 (never the token) and the CSRF token, signed with
``FLAKEGATE_SECRET_KEY``; it is ``HttpOnly``, ``SameSite=Lax``, scoped to ``/ui`` and ``Secure``
whenever the request came over HTTPS (behind a proxy only when ``FLAKEGATE_TRUST_PROXY`` says
its ``X-Forwarded-Proto`` is to be believed). The token behind it is checked again on every
request, through a cache of a few seconds, so a revoked or expired token loses its session
at once in practice.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from flask import Flask, current_app, g, redirect, request, session
from flask.sessions import SecureCookieSessionInterface

from api.auth import identify_digest
from api.domain import Scope
from api.errors import ApiError
from api.ui.requested import here

F = TypeVar("F", bound=Callable[..., Any])
DIGEST = "digest"
IDENTITY_TTL_S = 5.0  # how long a checked token is trusted before the store is asked again
SESSION_LIFETIME = timedelta(hours=12)
IDENTITY_CACHE_KEY = "flakegate.ui_identities"


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, ``Secure`` per request rather than per configuration."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or bool(app.config.get("SESSION_COOKIE_SECURE"))


class _Identities:
    """digest -> (scope or None, actor, checked at), per app, for IDENTITY_TTL_S."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Scope | None, str, float]] = {}

    def lookup(self, digest: str) -> tuple[Scope | None, str]:
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(digest)
        if found is not None and now - found[2] < IDENTITY_TTL_S:
            return found[0], found[1]
        scope, actor = identify_digest(digest)
        with self._lock:
            if len(self._entries) > 1024:  # sessions come and go: never grow without bound
                self._entries.clear()
            self._entries[digest] = (scope, actor, now)
        return scope, actor

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)


def init_app(app: Flask) -> None:
    app.session_interface = PageSessionInterface()
    app.config["SESSION_COOKIE_NAME"] = "flakegate_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_PATH"] = "/ui"
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    app.extensions[IDENTITY_CACHE_KEY] = _Identities()


def signing_enabled() -> bool:
    return bool(current_app.config.get("SECRET_KEY"))


def sign_in(digest: str) -> None:
    session.clear()  # a fresh CSRF token for the signed-in session
    session.permanent = True
    session[DIGEST] = digest


def sign_out() -> None:
    digest = session.get(DIGEST)
    if digest:
        current_app.extensions[IDENTITY_CACHE_KEY].forget(digest)
    session.clear()


def identify(digest: str) -> tuple[Scope | None, str]:
    identities: _Identities = current_app.extensions[IDENTITY_CACHE_KEY]
    return identities.lookup(digest)


def current_scope() -> Scope | None:
    """The signed-in reader's scope (``None``: not signed in, or the token is gone); also sets
    ``g.actor``, how the audit log names them."""
    if "ui_scope" in g:
        return g.ui_scope
    scope: Scope | None = None
    digest = session.get(DIGEST) if signing_enabled() else None
    if isinstance(digest, str):
        scope, actor = identify(digest)
        if scope is None:
            session.pop(DIGEST, None)  # revoked or expired: the session ends here
        else:
            g.actor = actor
    g.ui_scope = scope
    return scope


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of this site, never another host."""
    if not target or any(ch in target for ch in "\\\r\n\t") or target.startswith("//"):
        return "/ui/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == "/ui" or parts.path.startswith("/ui/")):
        return "/ui/"
    return target


def login_redirect() -> Any:
    return redirect(f"/ui/login?next={quote(here(), safe='')}", code=302)


def page(needed: Scope = Scope.READ) -> Callable[[F], F]:
    """Decorate a page view: readable by anyone with public read, else by a signed-in reader
    whose token has ``needed``; a reader not signed in is sent to the sign-in page."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            scope = current_scope()
            if needed is Scope.READ and current_app.config.get("PUBLIC_READ"):
                return view(*args, **kwargs)
            if scope is None:
                if request.method == "GET":
                    return login_redirect()
                raise ApiError(401, "sign in first (your session has ended)")
            if not scope.allows(needed):
                raise ApiError(403, f"this needs a token with scope '{needed.value}'; "
                                    f"yours has '{scope.value}'")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
