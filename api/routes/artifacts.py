"""A run's artifact files (JUnit and disruption measurements, SPEC §9) and what a run shows of
its measurements."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.errors import ApiError
from api.metrics import count_ingested
from api.routes.junit import request_uploads, upload_limits
from api.schemas.artifacts import ArtifactsUploadResultSchema
from api.schemas.common import check_path_names
from api.services import artifacts_upload, measurements_view

bp = Blueprint("artifacts", __name__)


@bp.post("/jobs/<seg:job>/runs/<seg:run_id>/artifacts")
@require(Scope.WRITE)
def attach_artifacts(job: str, run_id: str) -> tuple[Response, int]:
    check_path_names(job=job, run_id=run_id)
    if (request.mimetype or "") != "multipart/form-data":
        raise ApiError(415, "send artifact files as multipart/form-data, not "
                            f"{request.mimetype or 'no Content-Type'!r}")
    limits = upload_limits()
    report = artifacts_upload.attach_artifacts(get_store(), job, run_id,
                                               request_uploads(limits), limits=limits,
                                               observer=count_ingested)
    measured = measurements_view.run_view(get_store(), job, run_id)
    body: dict[str, Any] = ArtifactsUploadResultSchema().dump({
        "run": report.write.run,
        "files": [{"name": r.file.name, "sha256": r.file.sha256, "kind": "junit",
                   "tests": r.file.tests, "added": r.added} for r in report.junit]
        + [{"name": m.name, "sha256": m.sha256, "kind": m.kind, "tests": 0, "added": m.added}
           for m in report.measurements],
        "names_cut": sum(r.names_cut for r in report.junit),
    })
    body["run"].update(measured)
    return jsonify(body), 201 if report.added else 200
