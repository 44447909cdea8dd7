"""Signing in and out of the pages: a token posted from a form (never in a URL, never shown
again) becomes a signed session cookie; signing out is a POST with the form's CSRF token."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request

from api.auth import hash_token
from api.errors import ApiError
from api.ui import session
from api.ui.blueprint import bp
from api.ui.security import check_csrf

MAX_TOKEN_CHARS = 512  # far above new_token()'s 46: anything longer is not a token


@bp.get("/login")
def login_form() -> tuple[str, int]:
    return render_template("login.html", next=session.safe_next(request.args.get("next")),
                           error=None), 200


@bp.post("/login")
def login() -> Any:
    if not session.signing_enabled():
        raise ApiError(503, "signing in is off: this server has no FLAKEGATE_SECRET_KEY")
    check_csrf()
    target = session.safe_next(request.form.get("next"))
    token = request.form.get("token", "").strip()
    scope = None
    if token and len(token) <= MAX_TOKEN_CHARS:
        digest = hash_token(token)
        scope, _actor = session.identify(digest)
    if scope is None:
        # The same words whatever was wrong: a sign-in form is no oracle for token states.
        return render_template("login.html", next=target,
                               error="That token is not valid (unknown, revoked or expired)."), 401
    session.sign_in(digest)
    return redirect(target, code=303)


@bp.post("/logout")
def logout() -> Any:
    check_csrf()
    session.sign_out()
    return redirect("/ui/login", code=303)
