"""Secrets never reach a log line: query parameters that carry credentials and the headers
that do are masked before gunicorn formats an access or error line."""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote_plus

from gunicorn import glogging

if TYPE_CHECKING:
    from gunicorn.glogging import _AtomsDict
    from gunicorn.http import Request
    from gunicorn.http.wsgi import Response

MASK = "[REDACTED]"

# Query parameter names (case-insensitive) whose values are credentials.
_SECRET_PARAMS = frozenset({
    "token", "access_token", "refresh_token", "id_token", "api_key", "apikey", "key",
    "secret", "client_secret", "password", "passwd", "auth", "authorization", "signature",
})
_SECRET_SUFFIXES = ("token", "_key", "secret", "password")
# Request headers (lower case) that carry credentials; environ keys are their CGI spelling.
_SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token",
})
_SECRET_ENVIRON = frozenset("HTTP_" + name.upper().replace("-", "_") for name in _SECRET_HEADERS)
# Environ keys that hold the raw query (in full or as part of the request target).
_URI_ENVIRON = frozenset({"QUERY_STRING", "RAW_URI", "REQUEST_URI", "HTTP_REFERER"})


def _secret_name(raw_name: str) -> bool:
    name = unquote_plus(raw_name).strip().lower()
    return name in _SECRET_PARAMS or name.endswith(_SECRET_SUFFIXES)


def redact_query(query: str) -> str:
    """``a=1&access_token=s`` -> ``a=1&access_token=[REDACTED]``; other parameters as sent."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, eq, _value = part.partition("=")
        parts.append(f"{name}={MASK}" if eq and _secret_name(name) else part)
    return "&".join(parts)


def redact_uri(uri: str) -> str:
    """A request target (or full URL) with its query's secret values masked."""
    path, question, query = uri.partition("?")
    if not question:
        return uri
    query, hash_, fragment = query.partition("#")
    return f"{path}?{redact_query(query)}{hash_}{fragment}"


class RedactingLogger(glogging.Logger):
    """gunicorn's logger, with the atoms that could hold a credential masked."""

    def atoms(self, resp: Response, req: Request, environ: MutableMapping[str, Any],
              request_time: timedelta) -> _AtomsDict:
        found = super().atoms(resp, req, environ, request_time)
        # The format also reads header and environ atoms ("{name}i", "{name}e") that the
        # TypedDict of the stubs does not list, so the masking works on the plain mapping.
        atoms = cast(dict[str, Any], found)
        atoms["r"] = " ".join((environ.get("REQUEST_METHOD", "-"),
                               redact_uri(environ.get("RAW_URI", "-")),
                               environ.get("SERVER_PROTOCOL", "-")))
        atoms["q"] = redact_query(environ.get("QUERY_STRING", ""))
        atoms["f"] = redact_uri(environ.get("HTTP_REFERER", "-"))
        for name in _SECRET_HEADERS:
            if f"{{{name}}}i" in atoms:
                atoms[f"{{{name}}}i"] = MASK
        for key in environ:
            lowered = f"{{{key.lower()}}}e"
            if key in _SECRET_ENVIRON:
                atoms[lowered] = MASK
            elif key in _URI_ENVIRON and isinstance(environ[key], str):
                atoms[lowered] = (redact_query(environ[key]) if key == "QUERY_STRING"
                                  else redact_uri(environ[key]))
        return found
