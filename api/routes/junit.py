from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.errors import ApiError
from api.metrics import count_ingested
from api.names import filename_problem
from api.schemas.runs import JunitUploadResultSchema
from api.services import junit_upload
from api.services.errors import InvalidUpload

bp = Blueprint("junit", __name__)

XML_TYPES = {"application/xml", "text/xml", "application/junit+xml"}
_SPARE_FORM_PARTS = 8


def upload_limits() -> junit_upload.Limits:
    config = current_app.config
    return junit_upload.Limits(decompressed_bytes=config["MAX_DECOMPRESSED_BYTES"],
                               testcases=config["MAX_TESTCASES"], parts=config["MAX_PARTS"])


def _filename(name: str) -> str:
    problem = filename_problem(name)
    if problem is not None:
        raise ValidationError({"filename": [problem]})
    return name


def request_uploads(limits: junit_upload.Limits) -> list[junit_upload.Upload]:
    mimetype = request.mimetype or ""
    if mimetype == "multipart/form-data":
        # A few form fields besides the files are tolerated; werkzeug stops parsing beyond.
        request.max_form_parts = limits.parts + _SPARE_FORM_PARTS
        try:
            files = request.files
        except RequestEntityTooLarge:
            body_limit = current_app.config["MAX_BODY_BYTES"]
            if request.content_length is not None and request.content_length <= body_limit:
                raise InvalidUpload(
                    "too_many_parts", f"the request has more than {limits.parts} parts; the "
                    f"limit is {limits.parts} files (MAX_PARTS)",
                    {"limit_parts": limits.parts, "limit": "MAX_PARTS"}) from None
            raise
        uploads = []
        for field_name in files:
            for part in files.getlist(field_name):
                name = _filename(part.filename or field_name)
                uploads.append(junit_upload.Upload(name, part.stream))
        return uploads
    if mimetype in XML_TYPES or mimetype == "application/gzip":
        name = _filename(request.args.get("filename") or "junit.xml")
        encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("gzip", "identity"):
            raise ApiError(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
        # Streamed, never read whole: a chunked body beyond MAX_BODY_BYTES raises werkzeug's
        # RequestEntityTooLarge (413) on the read past the limit instead of being cut there.
        # gzip is recognised by its magic bytes, with or without Content-Encoding.
        return [junit_upload.Upload(name, request.stream)]
    raise ApiError(415, "send JUnit XML as application/xml (optionally Content-Encoding: gzip) "
                        f"or multipart/form-data, not {mimetype or 'no Content-Type'!r}")


@bp.post("/jobs/<seg:job>/runs/<seg:run_id>/junit")
@require(Scope.WRITE)
def attach_junit(job: str, run_id: str) -> tuple[Response, int]:
    limits = upload_limits()
    run, reports = junit_upload.attach(get_store(), job, run_id, request_uploads(limits),
                                       limits=limits, observer=count_ingested)
    body = JunitUploadResultSchema().dump({
        "run": run,
        "files": [{"name": r.file.name, "sha256": r.file.sha256, "tests": r.file.tests,
                   "added": r.added} for r in reports],
        "names_cut": sum(r.names_cut for r in reports),
    })
    return jsonify(body), 201 if any(r.added for r in reports) else 200
