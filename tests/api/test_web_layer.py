"""The seam between the web layer and the services: Flask, marshmallow and Prometheus stay on
the web side; services raise their own errors, which map to the same envelope as before."""

from __future__ import annotations

import gzip
import subprocess
import sys

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from api import create_app
from api.db import VERDICT_CACHE_KEY
from api.errors import UPLOAD_STATUS
from api.services.errors import UPLOAD_CODES, InvalidUpload
from api.services.verdicts import VerdictCache
from tests.conftest import ADMIN_TOKEN, ApiClient, junit_xml

RUN = "/jobs/unit/runs/1"


def test_services_load_without_the_web_layer() -> None:
    code = ("import sys, api.services.catalog, api.services.baselines, api.services.verdicts, "
            "api.services.junit_upload, api.services.verdict_markdown; "
            "print(sorted(m for m in ('flask', 'marshmallow', 'werkzeug', 'prometheus_client', "
            "'api.errors', 'api.metrics', 'api.db') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


def test_every_upload_refusal_has_a_status() -> None:
    assert set(UPLOAD_STATUS) == UPLOAD_CODES
    with pytest.raises(ValueError, match="unknown upload refusal code"):
        InvalidUpload("bad_request", "a code the error handler would not know")


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    (b"\x1f\x8bnot gzip", {"Content-Encoding": "gzip"}, 400, "invalid_encoding"),
    (gzip.compress(junit_xml([("a", "passed")]))[:-12], {"Content-Encoding": "gzip"}, 400,
     "invalid_encoding"),
    (gzip.compress(b" " * 5000), {"Content-Encoding": "gzip"}, 413, "too_large"),
])
def test_upload_refusals_keep_their_status_and_code(database_url: str, body: bytes,
                                                     headers: dict[str, str], status: int,
                                                     code: str) -> None:
    api = ApiClient(create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                                "MAX_BODY_BYTES": 4096, "MAX_DECOMPRESSED_BYTES": 4096}),
                    ADMIN_TOKEN)
    api.put(RUN, json={"status": "success"})
    response = api.post(f"{RUN}/junit", data=body,
                        headers={"Content-Type": "application/xml", **headers})
    assert (response.status_code, response.json["error"]["code"]) == (status, code)
    if status == 413:
        assert response.json["error"]["details"] == {"limit_bytes": 4096,
                                                     "limit": "MAX_DECOMPRESSED_BYTES"}


def test_an_upload_without_files_is_no_files(api: ApiClient) -> None:
    api.put(RUN, json={"status": "success"})
    response = api.post(f"{RUN}/junit", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "no_files"


def test_service_field_errors_are_422_with_their_details(api: ApiClient) -> None:
    bad = api.put("/jobs/unit", json={"settings": {"z": -1, "colour": "blue"}})
    assert bad.status_code == 422
    assert bad.json["error"] == {
        "code": "invalid", "message": "the request has invalid fields",
        "details": {"settings": {"z": ["must be a number from 0.0 to 10.0"],
                                 "colour": ["unknown setting"]}}}


def test_each_app_has_its_own_verdict_cache(database_url: str) -> None:
    first = create_app({"DATABASE": database_url})
    second = create_app({"DATABASE": database_url})
    off = create_app({"DATABASE": database_url, "VERDICT_CACHE": False})
    assert isinstance(first.extensions[VERDICT_CACHE_KEY], VerdictCache)
    assert first.extensions[VERDICT_CACHE_KEY] is not second.extensions[VERDICT_CACHE_KEY]
    assert off.extensions[VERDICT_CACHE_KEY] is None


def _ingested() -> tuple[float | None, ...]:
    return tuple(REGISTRY.get_sample_value(f"flakegate_ingested_{name}_total")
                 for name in ("runs", "junit_files", "test_results"))


def _delta(before: tuple[float | None, ...]) -> tuple[float, ...]:
    return tuple((a or 0.0) - (b or 0.0) for a, b in zip(_ingested(), before, strict=True))


def test_ingestion_counters_count_what_was_stored(app: Flask) -> None:
    api = ApiClient(app, ADMIN_TOKEN)
    before = _ingested()
    tests = [{"name": "a", "status": "failed"}, {"name": "a", "status": "passed"},
             {"name": "b", "status": "passed"}]
    api.put(RUN, json={"status": "success", "tests": tests})
    assert _delta(before) == (1, 0, 2), "a repeated test is one stored result"
    api.put(RUN, json={"status": "success", "tests": tests})
    assert _delta(before) == (1, 0, 2), "an identical PUT stores nothing"
    api.put("/jobs/unit/runs/2", json={"status": "success"})
    xml = junit_xml([("c", "passed"), ("d", "failed"), ("e", "skipped")])
    api.post_junit("/jobs/unit/runs/2", xml, filename="junit_01.xml")
    api.post_junit("/jobs/unit/runs/2", xml, filename="junit_01.xml")
    assert _delta(before) == (2, 1, 5), "a file sent twice is attached once"
