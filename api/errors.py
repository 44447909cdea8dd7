"""The one error shape of the API: ``{"error": {"code", "message", "details"}}``.

Every failure path (our own checks, marshmallow validation, the services' refusals, the store's
and the JUnit parser's errors, werkzeug's HTTP errors, and any bug) ends up here, so clients
never have to parse an HTML page or a bare string.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Flask, Response, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from api.disruption.artifacts import ArtifactParseError
from api.junit import JunitParseError
from api.services.errors import Forbidden, InvalidInput, InvalidUpload, UnsupportedFiles
from api.store import InvalidCursor, NotFound, StoreFull, StoreUnavailable

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
    507: "insufficient_storage",
}

UPLOAD_STATUS = {"no_files": 400, "invalid_encoding": 400, "too_large": 413,
                 "too_many_parts": 413}
"""The HTTP status of each :class:`InvalidUpload` code."""


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None,
                 details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = headers or {}


def error_response(status: int, message: str, *, code: str | None = None,
                   details: Any = None, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code or _CODES.get(status, "error"), "message": message,
                      "details": details}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return error_response(err.status, err.message, code=err.code, details=err.details,
                              headers=err.headers)

    @app.errorhandler(ValidationError)
    def _validation(err: ValidationError) -> Response:
        return error_response(422, "the request has invalid fields", details=err.messages)

    @app.errorhandler(Forbidden)
    def _forbidden(err: Forbidden) -> Response:
        return error_response(403, err.message, details={"fields": err.fields})

    @app.errorhandler(InvalidInput)
    def _invalid_input(err: InvalidInput) -> Response:
        return error_response(422, err.message, details=err.details)

    @app.errorhandler(InvalidUpload)
    def _invalid_upload(err: InvalidUpload) -> Response:
        return error_response(UPLOAD_STATUS[err.code], err.message, code=err.code,
                              details=err.details)

    @app.errorhandler(NotFound)
    def _not_found(err: NotFound) -> Response:
        return error_response(404, str(err) or "not found")

    @app.errorhandler(InvalidCursor)
    def _bad_cursor(err: InvalidCursor) -> Response:
        return error_response(400, "invalid pagination cursor", code="invalid_cursor",
                              details={"cursor": [str(err)]})

    @app.errorhandler(JunitParseError)
    def _bad_junit(err: JunitParseError) -> Response:
        return error_response(400, str(err), code="invalid_junit",
                              details={"file": err.filename, "line": err.line,
                                       "reason": err.reason})

    # -- disruption artifacts (SPEC §9) --------------------------------------------------------
    @app.errorhandler(ArtifactParseError)
    def _bad_artifact(err: ArtifactParseError) -> Response:
        return error_response(400, str(err), code="invalid_artifact",
                              details={"file": err.filename, "reason": err.reason})

    @app.errorhandler(UnsupportedFiles)
    def _unsupported_files(err: UnsupportedFiles) -> Response:
        return error_response(415, err.message, details={"files": err.files})

    @app.errorhandler(StoreUnavailable)
    def _unavailable(err: StoreUnavailable) -> Response:
        # The message names no path or backend detail: the log has them.
        log.warning("store unavailable: %s", err)
        if isinstance(err, StoreFull):
            return error_response(507, "the store is full; retry once space is made",
                                  headers={"Retry-After": "60"})
        return error_response(503, "the store is unavailable; retry shortly",
                              headers={"Retry-After": "2"})

    @app.errorhandler(sqlite3.Error)
    def _sqlite(err: sqlite3.Error) -> Response:
        # Statements the SQLite backend runs outside its transactions surface SQLite's own
        # exceptions: a full disk or a broken file is still the store's fault, never a 500.
        from api.store.sqlite.db import classify

        fault = classify(err, app.config.get("DATABASE", ""))
        if fault is None:
            return _unexpected(err)
        return _unavailable(fault)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(err: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_BODY_BYTES")
        return error_response(413, f"request body exceeds the limit of {limit} bytes",
                              details={"limit_bytes": limit})

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        headers = {}
        if status == 405 and err.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(err.valid_methods)  # type: ignore[attr-defined]
        return error_response(status, err.description or err.name, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal error; the server log has the details")
