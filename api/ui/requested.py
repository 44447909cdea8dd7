"""The page being served, as the reader's browser asked for it: where a link back or a sign-in
returns to. Kept apart so the frame and the sign-in both use it without importing each other."""

from __future__ import annotations

from flask import request


def raw_path() -> str:
    """This request's path as it was sent (percent-encoded): ``request.path`` is decoded, and
    a job named ``a/b`` (``a%2Fb``) must stay one segment in the links built from it."""
    return str(request.environ.get("PATH_INFO") or request.path)


def here() -> str:
    """This page's path and query, as sent: where a sign-in comes back to."""
    query = request.query_string.decode("latin-1")
    return raw_path() + (f"?{query}" if query else "")
