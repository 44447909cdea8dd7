"""The headers every page and static file carries, and CSRF tokens for every form.

The Content-Security-Policy forbids inline scripts and any other origin: the charts' data
travels in ``<script type="application/json">`` blocks, which no browser executes, and the
scripts come from ``/ui/static`` only (no CDN: a gate must work air-gapped).
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, request, session

from api.errors import ApiError

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # for browsers without frame-ancestors
}
CSRF_FIELD = "csrf"


def _is_page(path: str) -> bool:
    return path == "/" or path == "/ui" or path.startswith("/ui/")


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        if _is_page(request.path):
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
            if request.path.startswith("/ui/static/"):
                return response
            # A page may show what only a signed-in reader may see: never in a shared cache.
            response.headers.setdefault("Cache-Control", "private, no-cache")
        return response


def csrf_token() -> str:
    """This session's CSRF token (made on first use), for a form's hidden field."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def check_csrf() -> None:
    """Refuse a form POST whose hidden field does not carry this session's token."""
    expected = session.get(CSRF_FIELD)
    given = request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(str(expected), given):
        raise ApiError(403, "the form has expired or did not come from this site; reload the "
                            "page and submit it again", code="csrf")
