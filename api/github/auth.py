"""Who flakegate is on GitHub: a fixed token, or a GitHub App.

An App signs a short JWT (RS256, with PyJWT) to find the installation that covers a repository
(``GET /repos/{owner}/{repo}/installation``) and to mint that installation's access token
(``POST /app/installations/{id}/access_tokens``); the token is reused until five minutes before
it expires, so a burst of publications costs one token request per hour per installation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# GitHub refuses a JWT whose exp is more than 10 minutes ahead; iat 60 s in the past absorbs
# clock drift between this host and GitHub (GitHub's own recommendation).
JWT_BACKDATE = 60
JWT_LIFETIME = 9 * 60
TOKEN_REFRESH_MARGIN = 5 * 60

# (method, path, json body, bearer) -> decoded JSON answer; the client supplies it so that App
# requests get the same rate-limit handling and base URL as every other call.
AppRequest = Callable[[str, str, "dict[str, Any] | None", str], Any]


class Auth(Protocol):
    def token_for(self, repository: str | None, request: AppRequest) -> str:
        """The bearer token for calls about ``repository`` ("owner/name")."""

    def forget(self, repository: str | None) -> None:
        """Drop what is cached for ``repository`` after GitHub refused it (401)."""


@dataclass(frozen=True)
class TokenAuth:
    token: str

    def token_for(self, repository: str | None, request: AppRequest) -> str:
        return self.token

    def forget(self, repository: str | None) -> None:
        """A fixed token has nothing to refresh."""


@dataclass(frozen=True)
class _Cached:
    token: str
    refresh_at: float


class AppAuth:
    """A GitHub App: JWTs for the App endpoints, cached installation tokens for the rest.
    ``clock`` decides when a cached token is due for renewal (tests move it)."""

    def __init__(self, app_id: str, private_key_pem: str, *,
                 clock: Callable[[], float] = time.time):
        self.app_id = str(app_id)
        self._key = private_key_pem
        self._clock = clock
        self._lock = threading.Lock()
        self._installations: dict[str, int] = {}
        self._tokens: dict[int, _Cached] = {}

    def app_jwt(self) -> str:
        import jwt  # PyJWT, the github extra: only App set-ups need it

        # Real time, always: GitHub checks iat and exp against its own clock.
        now = int(time.time())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": self.app_id}
        return jwt.encode(claims, self._key, algorithm="RS256")

    def token_for(self, repository: str | None, request: AppRequest) -> str:
        if repository is None:
            return self.app_jwt()
        with self._lock:
            installation = self._installations.get(repository)
        if installation is None:
            answer = request("GET", f"/repos/{repository}/installation", None, self.app_jwt())
            installation = int(answer["id"])
            with self._lock:
                self._installations[repository] = installation
        with self._lock:
            cached = self._tokens.get(installation)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.token
        answer = request("POST", f"/app/installations/{installation}/access_tokens", {},
                         self.app_jwt())
        expires = datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
        fresh = _Cached(answer["token"], expires.timestamp() - TOKEN_REFRESH_MARGIN)
        with self._lock:
            self._tokens[installation] = fresh
        return fresh.token

    def forget(self, repository: str | None) -> None:
        with self._lock:
            installation = self._installations.pop(repository or "", None)
            if installation is not None:
                self._tokens.pop(installation, None)
