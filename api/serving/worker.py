"""The gunicorn worker class of ``flakegate serve``: gthread, with requests read in the poller.

gunicorn's ``gthread`` worker hands a connection to a thread as soon as its first byte
arrives, and the thread then blocks in the HTTP parser for as long as the client trickles its
headers or body: a few dozen slow clients hold every thread and starve the API (measured:
16 clients at 1 byte/s answered 0 of 8 normal requests in 60 s under sync workers). This
worker keeps reading a request in the worker's event loop, without a thread, until its header
block and (for a body of known, moderate length) its body are complete, under a deadline; only
a complete request takes a thread. A client too slow for the deadline gets a 408 and is cut.

Requests that cannot be buffered (chunked bodies, ``Expect: 100-continue``, bodies beyond
:data:`PREREAD_BODY_BYTES` or the worker's buffer budget) are handed to a thread once their
headers are complete, as gthread would.

Errors gunicorn raises before the app sees a request (request line too long, too many headers,
invalid request) are answered in the API's JSON error shape by :meth:`handle_error`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import selectors
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.http.parser import RequestParser
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.gthread import TConn, ThreadWorker

from api.serving.redact import redact_uri

# Seconds a client has to send its request line and headers, from its first byte (or from
# the connection being kept alive). A client that sends nothing at all is a keep-alive or
# idle connection: gunicorn's keepalive timeout applies.
HEADER_TIMEOUT = 10.0
# Seconds a client has to send a buffered body, plus one second per MIN_BODY_RATE bytes sent.
BODY_TIMEOUT = 10.0
MIN_BODY_RATE = 1000
# Bodies up to this size are buffered before a thread takes the request.
PREREAD_BODY_BYTES = 4 * 1024 * 1024
# The most one worker buffers across its connections; beyond it bodies stream in threads.
WORKER_BUFFER_BYTES = 64 * 1024 * 1024
# A header block longer than this is handed to gunicorn's parser, which refuses it (414/431)
# under its own limits (limit_request_line, limit_request_fields, limit_request_field_size).
MAX_HEADER_BLOCK = 64 * 1024

_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*([0-9]+)[ \t]*\r?$", re.I | re.M)
_NEEDS_THREAD = re.compile(rb"^(transfer-encoding|expect)[ \t]*:", re.I | re.M)
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
# What a thread returns for a connection it has closed itself.
_CLOSED = object()


@dataclass
class _Incoming:
    """A request being read in the event loop."""

    conn: TConn
    started: float
    deadline: float
    buf: bytearray = field(default_factory=bytearray)
    total: int | None = None  # bytes to buffer (headers + body) once the headers are in
    head_length: int = 0
    body_started: float = 0.0


@dataclass(frozen=True)
class _Rejection:
    status: int
    reason: str
    code: str
    message: str


def _rejection(exc: BaseException) -> _Rejection | None:
    """How a parse error is answered; None for an error that is the server's own."""
    if isinstance(exc, http_errors.LimitRequestLine):
        return _Rejection(414, "URI Too Long", "uri_too_long", "request line too long")
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return _Rejection(431, "Request Header Fields Too Large", "headers_too_large",
                          "too many or too large header fields")
    if isinstance(exc, http_errors.UnsupportedTransferCoding):
        return _Rejection(501, "Not Implemented", "not_implemented",
                          "unsupported transfer coding")
    if isinstance(exc, http_errors.ExpectationFailed):
        return _Rejection(417, "Expectation Failed", "expectation_failed",
                          "unsupported Expect header")
    if isinstance(exc, http_errors.ParseException):
        # The exception's text may quote the request line (and a token in its query): the
        # answer names the kind of error only.
        return _Rejection(400, "Bad Request", "bad_request",
                          f"invalid HTTP request ({type(exc).__name__})")
    return None


def json_error(status: int, reason: str, code: str, message: str) -> bytes:
    """A complete ``Connection: close`` HTTP response in the API's error shape."""
    body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def _peer(client: object) -> str:
    """The client's address for a log line (gthread keeps ``(host, port)`` for TCP)."""
    return str(client[0]) if isinstance(client, tuple) and client else "-"


class FlakegateWorker(ThreadWorker):
    def init_process(self) -> None:
        self.incoming: dict[int, _Incoming] = {}
        self.buffered = 0
        super().init_process()

    # -- connections enter the read-ahead instead of a thread --------------------------------

    def accept(self, listener: socket.socket) -> None:
        if self.cfg.is_ssl:  # bytes read here would bypass the TLS wrapper
            super().accept(listener)
            return
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking
        now = time.monotonic()
        # Until its first byte a new connection is idle: it gets the longer of the header and
        # keepalive timeouts, and the header clock restarts at that byte.
        self._start_reading(conn, now + max(float(self.cfg.keepalive), HEADER_TIMEOUT))

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn, time.monotonic() + HEADER_TIMEOUT)

    def _start_reading(self, conn: TConn, deadline: float) -> None:
        incoming = _Incoming(conn, time.monotonic(), deadline)
        self.incoming[conn.sock.fileno()] = incoming
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             lambda _sock: self._on_readable(incoming))

    def _on_readable(self, incoming: _Incoming) -> None:
        try:
            data = incoming.conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(incoming)
            return
        if not incoming.buf and incoming.total is None:
            incoming.deadline = time.monotonic() + HEADER_TIMEOUT  # the clock starts now
        incoming.buf += data
        self.buffered += len(data)
        if incoming.total is None:
            self._on_header_bytes(incoming)
        else:
            self._on_body_bytes(incoming)

    def _on_header_bytes(self, incoming: _Incoming) -> None:
        end = _END_OF_HEADERS.search(incoming.buf)
        if end is None:
            if len(incoming.buf) > MAX_HEADER_BLOCK:
                self._dispatch(incoming)  # gunicorn's parser refuses it
            return
        head = bytes(incoming.buf[:end.end()])
        lengths = _CONTENT_LENGTH.findall(head)
        length = int(lengths[0]) if len(lengths) == 1 else 0
        if (_NEEDS_THREAD.search(head) or len(lengths) > 1 or length > PREREAD_BODY_BYTES
                or self.buffered + length > WORKER_BUFFER_BYTES):
            self._dispatch(incoming)
            return
        incoming.head_length = end.end()
        incoming.total = end.end() + length
        incoming.body_started = time.monotonic()
        self._on_body_bytes(incoming)

    def _on_body_bytes(self, incoming: _Incoming) -> None:
        assert incoming.total is not None
        if len(incoming.buf) >= incoming.total:
            self._dispatch(incoming)
            return
        received = len(incoming.buf) - incoming.head_length
        incoming.deadline = incoming.body_started + BODY_TIMEOUT + received / MIN_BODY_RATE

    def _forget(self, incoming: _Incoming) -> None:
        sock = incoming.conn.sock
        self.incoming.pop(sock.fileno(), None)
        self.buffered -= len(incoming.buf)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(sock)

    def _dispatch(self, incoming: _Incoming) -> None:
        """Hand a request (complete, or one gthread must stream) to a thread."""
        self._forget(incoming)
        conn = incoming.conn
        conn.sock.setblocking(True)
        conn.init()  # creates the parser of a new connection; a kept-alive one has its own
        # flakegate serves plain HTTP/1.1: gthread's HTTP/2 and uWSGI parsers are never made.
        assert isinstance(conn.parser, RequestParser), type(conn.parser)
        conn.parser.unreader.unread(bytes(incoming.buf))
        conn.data_ready = True
        self.enqueue_req(conn)

    def _drop(self, incoming: _Incoming, answer: bytes = b"") -> None:
        self._forget(incoming)
        if answer:
            with contextlib.suppress(OSError):
                incoming.conn.sock.send(answer)  # non-blocking, best effort
        self.nr_conns -= 1
        incoming.conn.close()

    def murder_pending(self) -> None:
        """gthread's pending-connection timeouts, and the read-ahead's deadlines."""
        super().murder_pending()
        now = time.monotonic()
        for incoming in list(self.incoming.values()):
            if not incoming.buf and not self.alive:
                self._drop(incoming)  # stopping: an idle connection has nothing to finish
            elif incoming.deadline <= now:
                if incoming.buf:
                    self.log.warning("Request timeout from ip=%s after %d bytes in %.1fs",
                                     _peer(incoming.conn.client),
                                     len(incoming.buf), now - incoming.started)
                    self._drop(incoming, json_error(
                        408, "Request Timeout", "request_timeout",
                        "the request was not received in time"))
                else:
                    self._drop(incoming)

    # -- closing in the thread, not the event loop ---------------------------------------

    def handle(self, conn: TConn) -> Any:
        keep = super().handle(conn)
        if keep is False:
            # gthread closes in finish_request, on the event loop, and its graceful close
            # lingers up to 2 s draining what the client still sends: a client trickling an
            # unread body would stall every connection of the worker. Linger here instead.
            conn.close(graceful=True)
            return _CLOSED
        return keep

    def finish_request(self, conn: TConn, fs: Any) -> None:
        if not fs.cancelled() and fs.exception() is None and fs.result() is _CLOSED:
            self.nr_conns -= 1
            return
        super().finish_request(conn, fs)

    # -- errors before the app: the API's JSON shape ----------------------------------------

    def handle_error(self, req: Any, client: socket.socket, addr: Any,
                     exc: BaseException) -> None:
        started = datetime.now()
        addr = addr or ("", -1)
        rejection = _rejection(exc)
        if rejection is None:
            uri = redact_uri(getattr(req, "uri", "") or "(no URI read)")
            self.log.exception("Error handling request %s", uri)
            rejection = _Rejection(500, "Internal Server Error", "internal",
                                   "internal error; the server log has the details")
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], type(exc).__name__)
        if req is None and isinstance(exc, (http_errors.InvalidHeader,
                                            http_errors.InvalidHeaderName)):
            req = getattr(exc, "req", None)  # the request whose header failed, for the log
        if req is not None:
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            resp = Response(req, client, self.cfg)
            resp.status = f"{rejection.status} {rejection.reason}"
            self.log.access(resp, req, environ, datetime.now() - started)
        try:
            client.sendall(json_error(rejection.status, rejection.reason, rejection.code,
                                      rejection.message))
        except OSError:
            self.log.debug("Failed to send error message.")

