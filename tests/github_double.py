"""A GitHub double on 127.0.0.1 for tests: it keeps the state flakegate reads and writes
(commit statuses, check runs, issue comments, the pull requests of a commit, workflow runs,
jobs, job logs and artifacts seeded by the test), VALIDATES every request against GitHub's
OpenAPI description (tests/github_contract.py) and every answer it gives too. Whatever does not
validate is recorded in ``violations``; the ``github_double`` fixture fails the test at teardown
when there is any.

Auth: a request must carry ``Bearer <token>`` for the configured token, an installation token
the double minted, or (App endpoints) an RS256 JWT of the configured App, checked with its
public key. Faults: :meth:`GitHubDouble.fail_next` answers the next matching requests with a
rate-limit refusal (403/429, ``Retry-After`` and/or ``X-RateLimit-Reset``).

Signed downloads redirect to ``storage_url`` ("localhost" where the API is "127.0.0.1": another
host as far as a client can tell), which refuses any request with an Authorization header.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.github_contract import Operation, match, request_errors, response_errors
from tests.github_handlers import HANDLERS, Answer, DoubleState

STORAGE_PREFIX = "/_storage/"


def make_app_key() -> tuple[str, Any]:
    """A fresh RSA key for a test GitHub App: (private key PEM, public key object)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


class Sleeps:
    """A client's ``sleep`` that records the waits instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    operation_id: str | None
    status: int = 0


@dataclass
class Fault:
    status: int
    operation_id: str | None
    retry_after: float | None
    reset_in: float | None
    message: str


@dataclass
class GitHubDouble:
    token: str | None = "double-token"
    prefix: str = ""  # GitHub Enterprise Server serves the API under /api/v3
    app_id: str | None = None
    app_public_key: Any = None  # the App's RSA public key (cryptography), to check JWTs
    state: DoubleState = field(default_factory=DoubleState)
    requests: list[Recorded] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    jwts: list[dict[str, Any]] = field(default_factory=list)
    _faults: list[Fault] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> GitHubDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = double.handle(
                    self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the recorded requests are the log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.state.storage_url = self.storage_url
        self.state.api_url = self.api_url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What FLAKEGATE_GITHUB_API_URL is set to for this double."""
        return self.url + self.prefix

    @property
    def storage_url(self) -> str:
        return f"http://localhost:{self.port}"

    # -- what tests ask -----------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 403, operation_id: str | None = None,
                  retry_after: float | None = 1, reset_in: float | None = None,
                  message: str = "You have exceeded a secondary rate limit.") -> None:
        """Refuse the next ``count`` requests (of ``operation_id``, or any) for a rate limit."""
        with self._lock:
            self._faults += [Fault(status, operation_id, retry_after, reset_in, message)
                             for _ in range(count)]

    def calls(self, operation_id: str | None = None, *,
              writes_only: bool = False) -> list[Recorded]:
        with self._lock:
            found = list(self.requests)
        return [r for r in found
                if (operation_id is None or r.operation_id == operation_id)
                and (not writes_only or r.method != "GET")]

    # -- serving ------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        host = headers.get("Host", "")
        if parts.path.startswith(STORAGE_PREFIX):
            return self._storage(method, parts.path, headers, host)
        if not parts.path.startswith(self.prefix + "/"):
            self._violation(f"{method} {parts.path}: outside the API prefix {self.prefix!r}")
            return self._json(404, {"message": "Not Found"})
        parts = parts._replace(path=parts.path[len(self.prefix):])
        decoded: Any = None
        if body:
            try:
                decoded = json.loads(body)
            except ValueError:
                decoded = body
        found = match(method, parts.path)
        record = Recorded(method, parts.path, query, headers, decoded,
                          found[0].operation_id if found else None)
        with self._lock:
            self.requests.append(record)
        if found is None:
            self._violation(f"{method} {parts.path}: no such operation in GitHub's description")
            return self._json(404, {"message": "Not Found",
                                    "documentation_url": "https://docs.github.com/rest"})
        op, params = found
        errors = request_errors(op, params, query, body, headers.get("Content-Type", ""))
        for error in errors:
            self._violation(f"{method} {parts.path} ({op.operation_id}): {error}")
        if not host.startswith("127.0.0.1:"):
            self._violation(f"{method} {parts.path}: API request to host {host!r}")
        status, answer_headers, payload = self._answer(op, params, query, decoded, headers,
                                                       bool(errors))
        record.status = status
        return status, answer_headers, payload

    def _answer(self, op: Operation, params: dict[str, str], query: dict[str, list[str]],
                body: Any, headers: dict[str, str],
                invalid: bool) -> tuple[int, dict[str, str], bytes]:
        fault = self._take_fault(op.operation_id)
        if fault is not None:
            return self._fault(op, fault)
        denied = self._check_auth(op, headers.get("Authorization", ""), params)
        if denied:
            return self._error(op, 401, denied)
        if invalid:
            return self._error(op, 422, "Validation Failed")
        handler = HANDLERS.get(op.operation_id)
        if handler is None:
            self._violation(f"the double does not serve {op.operation_id}")
            return self._json(501, {"message": "not served by the double"})
        self.state.set_caller(*self._caller_of(headers.get("Authorization", "")))
        answer: Answer = handler(self.state, params, query, body)
        for error in response_errors(op, answer.status, answer.body,
                                     injected=answer.undocumented):
            self._violation(f"double's answer to {op.operation_id}: {error}")
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        out = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
               "X-RateLimit-Reset": str(int(time.time()) + 3600), **answer.headers}
        if answer.body is not None:
            out["Content-Type"] = "application/json; charset=utf-8"
        return answer.status, out, payload

    def _storage(self, method: str, path: str, headers: dict[str, str],
                 host: str) -> tuple[int, dict[str, str], bytes]:
        record = Recorded(method, path, {}, headers, None, "storage")
        with self._lock:
            self.requests.append(record)
        if any(key.lower() == "authorization" for key in headers):
            self._violation(f"{method} {path}: the Authorization header went to storage")
        if not host.startswith("localhost:"):
            self._violation(f"{method} {path}: storage fetched from host {host!r}")
        blob = self.state.blobs.get(path.removeprefix(STORAGE_PREFIX))
        if method != "GET" or blob is None:
            record.status = 404
            return 404, {}, b""
        record.status = 200
        return 200, {"Content-Type": "application/octet-stream"}, blob

    def _take_fault(self, operation_id: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.operation_id in (None, operation_id):
                    return self._faults.pop(index)
        return None

    def _fault(self, op: Operation, fault: Fault) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        if fault.reset_in is not None:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(int(time.time() + fault.reset_in))
        body = {"message": fault.message,
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits"}
        for error in response_errors(op, fault.status, body, injected=True):
            self._violation(f"double's fault for {op.operation_id}: {error}")
        return fault.status, headers, json.dumps(body).encode()

    def _check_auth(self, op: Operation, authorization: str, params: dict[str, str]) -> str:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not credential:
            return "Requires authentication"
        if op.operation_id in ("apps/get-repo-installation",
                               "apps/create-installation-access-token"):
            return self._check_jwt(credential)
        if credential == self.token or credential in self.state.installation_tokens:
            expires = self.state.installation_tokens.get(credential)
            if expires is not None and expires <= time.time():
                return "Bad credentials"
            return ""
        return "Bad credentials"

    def _caller_of(self, authorization: str) -> tuple[str, int | None]:
        """The login (and App id) GitHub shows as the author of what this request writes."""
        credential = authorization.partition(" ")[2]
        if credential in self.state.installation_tokens and self.app_id is not None:
            return f"{self.state.app_slug}[bot]", int(self.app_id)
        return self.state.token_login, None

    def _check_jwt(self, credential: str) -> str:
        import jwt

        if self.app_id is None or self.app_public_key is None:
            return "A JSON web token could not be decoded"
        try:
            claims = jwt.decode(credential, self.app_public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]},
                                leeway=0)
        except jwt.PyJWTError as err:
            return f"A JSON web token could not be decoded: {err}"
        with self._lock:
            self.jwts.append(claims)
        if str(claims["iss"]) != str(self.app_id):
            return "Integration not found"
        if claims["exp"] - time.time() > 600:
            return "'Expiration time' claim ('exp') is too far in the future"
        return ""

    def _error(self, op: Operation, status: int,
               message: str) -> tuple[int, dict[str, str], bytes]:
        body = {"message": message, "documentation_url": "https://docs.github.com/rest"}
        return self._json(status, body)

    def _json(self, status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json; charset=utf-8"}, \
            json.dumps(body).encode()

    def _violation(self, message: str) -> None:
        with self._lock:
            self.violations.append(message)

