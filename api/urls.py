"""Path segments that may hold any printable text, including ``/`` (as ``%2F``).

WSGI servers hand Flask a *decoded* ``PATH_INFO``, so ``jobs/a%2Fb/runs/1`` would route as if the
job were ``a`` with an extra ``/b``. We route on the raw request URI instead (gunicorn and
werkzeug both provide it) and let the :class:`SegmentConverter` decode each segment itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote

from werkzeug.routing import BaseConverter, ValidationError

# RFC 9112 section 3.2.2: an absolute-form request target is scheme "://" authority path.
# Anything else holding "://" (``/healthz/x://y/jobs``) is an origin-form path, kept whole.
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/]*")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _not_found(start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = json.dumps({"error": {"code": "not_found", "message": "empty path segment",
                                 "details": None}}).encode()
    start_response("404 NOT FOUND", [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(body)))])
    return [body]


class RawPathMiddleware:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw:
            path = raw.split("?", 1)[0]
            absolute = _ABSOLUTE_FORM.match(path)
            if absolute:  # only a target that *starts* as scheme://authority
                path = path[absolute.end():] or "/"
            if "//" in path:
                # An empty segment names nothing; werkzeug would merge it away (or strip a
                # leading one) and serve another path than the one requested.
                return _not_found(start_response)
            script = environ.get("SCRIPT_NAME", "")
            if script and path.startswith(script):
                path = path[len(script):]
        else:
            # No raw URI: re-encode the decoded path; an encoded slash is unrecoverable here.
            decoded = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
            path = quote(decoded, safe="/")
        # PATH_INFO is latin-1 text per PEP 3333; the raw path is ASCII after percent-encoding.
        environ["PATH_INFO"] = quote(path.encode("latin-1", "replace"), safe="/%:@!$&'()*+,;=-._~")
        return self.app(environ, start_response)


class SegmentConverter(BaseConverter):
    """One path segment, percent-decoded (so ``%2F`` becomes ``/`` inside the value)."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        if value in (".", ".."):
            # A dot segment means "this/parent directory" to every URL library, which would
            # resolve it before sending: it never names a job or a run (%2E%2E still can).
            raise ValidationError()
        try:
            return unquote(value, errors="strict")
        except UnicodeDecodeError:
            raise ValidationError() from None  # not UTF-8: no route matches, so 404

    def to_url(self, value: str) -> str:
        return quote(value, safe="")
