"""What every template sees (navigation, the reader, the CSRF token, URL and format helpers)
and the pages' own error page: a person gets HTML, with the status the API would answer."""

from __future__ import annotations

import enum
import logging
from datetime import UTC, datetime
from typing import Any

from flask import current_app, render_template, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from api import pages_urls
from api.domain import Scope
from api.errors import ApiError
from api.services.errors import Forbidden, InvalidInput
from api.store import InvalidCursor, NotFound, StoreUnavailable
from api.ui import security, session
from api.ui.blueprint import bp
from api.ui.requested import here, raw_path

log = logging.getLogger(__name__)

NAVIGATION = (
    ("Payloads", "/ui/"),
    ("Disruption", "/ui/disruption"),
    ("Patterns", "/ui/patterns"),
    ("Failures", "/ui/failures"),
    ("Breakages", "/ui/breakages"),
)
# Verdicts and run statuses -> the badge's class; the badge always shows the word too.
BADGES = {"pass": "ok", "success": "ok", "passed": "ok", "fail": "bad", "failure": "bad",
          "failed": "bad", "pending": "wait", "error": "warn", "aborted": "warn",
          "flaked": "warn", "skipped": "muted", "excused": "muted", "known": "muted"}


def when(value: datetime | str | None) -> str:
    """A moment as people read it: ``2026-12-01 17:05 UTC``."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def status_word(status: Any) -> str:
    """A status enum's word: a string enum's value, an integer enum's (TestStatus) name."""
    if isinstance(status, enum.IntEnum):
        return status.name.lower()
    return str(getattr(status, "value", status))


def badge_class(status: Any) -> str:
    return BADGES.get(status_word(status).lower(), "muted")


def page_url(cursor: str | None, **params: Any) -> str:
    """This page with another cursor (and other parameters), keeping the rest of the query."""
    from urllib.parse import urlencode

    args = {k: v for k, v in request.args.items() if k != "cursor"}
    args.update({k: v for k, v in params.items() if v is not None})
    if cursor:
        args["cursor"] = cursor
    query = urlencode(args)
    return raw_path() + (f"?{query}" if query else "")


@bp.app_context_processor
def _frame() -> dict[str, Any]:
    if not request.path.startswith("/ui"):
        return {}
    scope = session.current_scope()
    return {
        "navigation": NAVIGATION,
        "reader_scope": scope.value if scope else None,
        "is_admin": scope is not None and scope.allows(Scope.ADMIN),
        "public_read": bool(current_app.config.get("PUBLIC_READ")),
        "signing_enabled": session.signing_enabled(),
        "csrf_token": security.csrf_token if session.signing_enabled() else (lambda: ""),
        "urls": pages_urls,
        "when": when,
        "percent": percent,
        "badge_class": badge_class,
        "status_word": status_word,
        "page_url": page_url,
        "here": here,
    }


def error_page(status: int, message: str, details: Any = None) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message,
                           details=details), status


@bp.errorhandler(ApiError)
def _api_error(err: ApiError) -> tuple[str, int]:
    return error_page(err.status, err.message)


@bp.errorhandler(NotFound)
def _not_found(err: NotFound) -> tuple[str, int]:
    return error_page(404, str(err) or "not found")


@bp.errorhandler(InvalidCursor)
def _bad_cursor(_err: InvalidCursor) -> tuple[str, int]:
    return error_page(400, "that page link is not valid any more; start from the first page")


@bp.errorhandler(ValidationError)
def _invalid(err: ValidationError) -> tuple[str, int]:
    return error_page(422, "the form has invalid fields", err.messages)


@bp.errorhandler(InvalidInput)
def _invalid_input(err: InvalidInput) -> tuple[str, int]:
    return error_page(422, err.message, err.details)


@bp.errorhandler(Forbidden)
def _forbidden(err: Forbidden) -> tuple[str, int]:
    return error_page(403, err.message)


@bp.errorhandler(StoreUnavailable)
def _unavailable(err: StoreUnavailable) -> tuple[str, int]:
    log.warning("store unavailable: %s", err)
    return error_page(503, "the store is unavailable; retry shortly")


@bp.errorhandler(HTTPException)
def _http(err: HTTPException) -> tuple[str, int]:
    return error_page(err.code or 500, err.description or err.name)


@bp.errorhandler(Exception)
def _unexpected(_err: Exception) -> tuple[str, int]:
    log.exception("unhandled error on a page")
    return error_page(500, "internal error; the server log has the details")
