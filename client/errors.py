"""Everything the client raises derives from :class:`FlakegateError`::

    FlakegateError
    ├── InputError             the caller's own input is unusable (no server URL, no file
    │                          matched, a file that cannot be read, a name no URL can carry)
    ├── TransportError         no HTTP answer at all (after the retries, if the call retries)
    │   ├── ConnectionFailed   refused, reset, DNS failure, TLS failure
    │   └── RequestTimedOut    connect or read timeout
    ├── ApiError               the server answered with an error status
    │   ├── BadRequest         400 malformed request, bad JUnit XML
    │   ├── AuthError          401 no or bad token, 403 insufficient scope
    │   ├── NotFoundError      404 unknown job, run or payload
    │   ├── Conflict           409
    │   ├── PayloadTooLarge    413 body (or decompressed file) over the server's limit
    │   ├── ValidationFailed   422 invalid fields; ``details`` maps field -> messages
    │   ├── RateLimited        429 (after the retries)
    │   └── ServerError        5xx (after the retries)
    ├── UnexpectedResponse     a success status with a body that is not what the contract says
    └── VerdictPending         the payload was still pending when the wait timed out

    CommandError               not a client error: what any ``flakegate`` command (the server
                               ones too) raises to end with a message and an exit status


``TransportError``, ``RateLimited`` and ``ServerError`` share :attr:`FlakegateError.unavailable`:
the service could not do its job, which is what ``--fail-open`` forgives. A wrong token or an
unknown payload is the caller's mistake and is never forgiven.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from client.exit_status import ExitStatus

if TYPE_CHECKING:
    import requests

    from client.models import Verdict


class FlakegateError(Exception):
    """Base of every client error."""

    #: True when the service is unreachable or overloaded rather than refusing the request.
    unavailable: bool = False

    def describe(self) -> str:
        """One human line for a log or a terminal."""
        return str(self)


class InputError(FlakegateError):
    pass


class TransportError(FlakegateError):
    unavailable = True

    def __init__(self, message: str, *, method: str = "", url: str = "",
                 attempts: int = 1) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.attempts = attempts


class ConnectionFailed(TransportError):
    pass


class RequestTimedOut(TransportError):
    pass


class ApiError(FlakegateError):
    """An error status, with the server's ``{"error": {"code", "message", "details"}}`` body."""

    def __init__(self, status: int, code: str, message: str, details: Any = None, *,
                 method: str = "", url: str = "") -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.method = method
        self.url = url

    def describe(self) -> str:
        """One human line, with per-field details when the server gave them."""
        text = f"{self.method} {self.url}: HTTP {self.status} {self.code}: {self.message}"
        if isinstance(self.details, dict) and self.details:
            fields = "; ".join(f"{key}: {_flatten(value)}" for key, value in self.details.items())
            text += f" ({fields})"
        return text


def _flatten(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_flatten(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_flatten(item)}" for key, item in value.items())
    return str(value)


class BadRequest(ApiError):
    pass


class AuthError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class Conflict(ApiError):
    pass


class PayloadTooLarge(ApiError):
    pass


class ValidationFailed(ApiError):
    pass


class RateLimited(ApiError):
    unavailable = True


class ServerError(ApiError):
    unavailable = True


class UnexpectedResponse(FlakegateError):
    def __init__(self, message: str, *, method: str = "", url: str = "",
                 status: int | None = None) -> None:
        super().__init__(f"{method} {url}: {message}".strip(": "))
        self.status = status


class VerdictPending(FlakegateError):
    """Raised by ``wait_for_verdict`` at its timeout; carries the last (pending) verdict."""

    def __init__(self, payload: str, verdict: Verdict | None, waited_s: float) -> None:
        state = "still pending" if verdict is not None else \
            "still unknown to the server (no run has reported it)"
        super().__init__(f"payload {payload!r} is {state} after {waited_s:.0f}s")
        self.payload = payload
        self.verdict = verdict
        self.waited_s = waited_s


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
}


def error_class(status: int) -> type[ApiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


class CommandError(Exception):
    """A foreseeable failure of a ``flakegate`` command (a bad ``--db`` URL, an unknown
    baseline, a missing extra): the dispatcher in :mod:`client.cli` prints the message as one
    line and exits with ``exit_status``, no traceback. Server commands convert their own
    errors to this, so that the client never needs to import the server's exception types."""

    def __init__(self, message: str, exit_status: ExitStatus = ExitStatus.ERROR) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def from_response(response: requests.Response, method: str, url: str) -> ApiError:
    """The error an error status stands for, from the one JSON envelope when there is one."""
    code, message, details = "http_error", response.reason or "error", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        details = error.get("details")
    elif response.text:  # a proxy's HTML page, say: keep a little of it for the log
        message = f"{message}: {response.text.strip()[:200]}"
    cls = error_class(response.status_code)
    return cls(response.status_code, code, message, details, method=method, url=url)


def _innermost(err: BaseException) -> BaseException:
    inner = err
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    return inner


def short_reason(err: Exception) -> str:
    """A few words for a retry line: ``connection refused``, not urllib3's pool repr."""
    inner = _innermost(err)
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror.lower()
    text = str(inner).lower()
    for words in ("connection refused", "name or service not known", "connection reset",
                  "remote end closed connection"):
        if words in text:
            return words
    return type(inner).__name__


def reason(err: Exception) -> str:
    # requests nests urllib3's reason a few levels deep; its innermost message is the useful
    # one ("Connection refused"), not the long repr of the pool.
    inner = _innermost(err)
    text = str(inner) or type(inner).__name__
    return text if len(text) < 200 else text[:200] + "..."
