from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.errors import ApiError
from api.metrics import count_ingested
from api.schemas.runs import JunitUploadResultSchema
from api.services import junit_upload

bp = Blueprint("junit", __name__)

XML_TYPES = {"application/xml", "text/xml", "application/junit+xml"}


def _uploads(limit: int) -> list[junit_upload.Upload]:
    mimetype = request.mimetype or ""
    if mimetype == "multipart/form-data":
        uploads = []
        for field_name in request.files:
            for part in request.files.getlist(field_name):
                name = part.filename or field_name
                uploads.append(junit_upload.Upload(name, part.read()))
        return uploads
    if mimetype in XML_TYPES or mimetype == "application/gzip":
        data = request.get_data(cache=False)
        name = request.args.get("filename") or "junit.xml"
        encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding == "gzip":
            data = junit_upload.gunzip_bounded(data, limit, name=name)
        elif encoding != "identity":
            raise ApiError(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
        return [junit_upload.Upload(name, data)]
    raise ApiError(415, "send JUnit XML as application/xml (optionally Content-Encoding: gzip) "
                        f"or multipart/form-data, not {mimetype or 'no Content-Type'!r}")


@bp.post("/jobs/<seg:job>/runs/<seg:run_id>/junit")
@require(Scope.WRITE)
def attach_junit(job: str, run_id: str) -> tuple[Response, int]:
    limit = current_app.config["MAX_BODY_BYTES"]
    run, reports = junit_upload.attach(get_store(), job, run_id, _uploads(limit), limit=limit,
                                       observer=count_ingested)
    body = JunitUploadResultSchema().dump({
        "run": run,
        "files": [{"name": r.file.name, "sha256": r.file.sha256, "tests": r.file.tests,
                   "added": r.added} for r in reports],
    })
    return jsonify(body), 201 if any(r.added for r in reports) else 200
