"""Build logs of runs' steps: ``PUT``/``GET /jobs/{job}/runs/{run_id}/logs/{step}`` and the
listing ``GET /jobs/{job}/runs/{run_id}/logs`` (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, current_app, jsonify, request

from api.auth import require
from api.db import get_store
from api.domain import Scope, WriteOutcome
from api.errors import ApiError
from api.failures.logtext import line_range as select_lines
from api.routes.junit import upload_limits
from api.schemas.common import check_path_names
from api.schemas.logs import dump_info, line_range
from api.services import logs

bp = Blueprint("logs", __name__)

# Plain text in any charset, or gzip however labelled (gzip is found by its magic bytes).
_TYPES = {"application/gzip", "application/x-gzip", "application/octet-stream"}
_CHUNK = 1 << 20


def _body() -> Iterator[bytes]:
    mimetype = request.mimetype or ""
    if not (mimetype.startswith("text/") or mimetype in _TYPES):
        raise ApiError(415, "send a log as text/plain or application/gzip (or Content-Encoding:"
                            f" gzip), not {mimetype or 'no Content-Type'!r}")
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("gzip", "identity"):
        raise ApiError(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    # Streamed in chunks: werkzeug raises 413 past MAX_BODY_BYTES, and the inflated bytes are
    # charged to MAX_DECOMPRESSED_BYTES as they come.
    return iter(lambda: request.stream.read(_CHUNK), b"")


@bp.put("/jobs/<seg:job>/runs/<seg:run_id>/logs/<seg:step>")
@require(Scope.WRITE)
def put_log(job: str, run_id: str, step: str) -> tuple[Response, int]:
    check_path_names(job=job, run_id=run_id, step=step)
    info, outcome = logs.put_log(get_store(), job, run_id, step, _body(), limits=upload_limits(),
                                 max_log_bytes=current_app.config["MAX_LOG_BYTES"])
    return (jsonify(dump_info(info, outcome=outcome.value)),
            201 if outcome is WriteOutcome.CREATED else 200)


@bp.get("/jobs/<seg:job>/runs/<seg:run_id>/logs/<seg:step>")
@require(Scope.READ)
def get_log(job: str, run_id: str, step: str) -> Response:
    wanted = line_range(request.args.get("lines"))
    stored = logs.get_log(get_store(), job, run_id, step)
    text = stored.text if wanted is None else select_lines(stored.text, *wanted)
    response = Response(text, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Flakegate-Log-Lines"] = str(stored.info.lines)
    response.headers["X-Flakegate-Log-Truncated"] = "true" if stored.truncated else "false"
    response.set_etag(stored.info.sha256)
    return response


@bp.get("/jobs/<seg:job>/runs/<seg:run_id>/logs")
@require(Scope.READ)
def list_logs(job: str, run_id: str) -> Response:
    return jsonify({"items": [dump_info(info) for info in logs.list_logs(get_store(), job,
                                                                         run_id)]})
