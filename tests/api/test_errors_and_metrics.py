from __future__ import annotations

from flask import Flask

from api import create_app
from tests.conftest import ADMIN_TOKEN, ApiClient


def test_unknown_route_and_wrong_method_use_the_error_shape(api: ApiClient) -> None:
    missing = api.get("/nowhere", check=False)
    assert missing.status_code == 404
    assert set(missing.json["error"]) == {"code", "message", "details"}
    wrong = api.request("DELETE", "/jobs", check=False)
    assert wrong.status_code == 405
    assert wrong.json["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]


def test_body_over_the_limit_is_413(database_url: str) -> None:
    app: Flask = create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                             "MAX_BODY_BYTES": 1024})
    api = ApiClient(app, ADMIN_TOKEN)
    api.put("/jobs/j/runs/1", json={"status": "success"})
    response = api.put("/jobs/j/runs/1", json={"status": "success", "url": "x" * 4000})
    assert response.status_code == 413
    assert response.json["error"]["details"]["limit_bytes"] == 1024


def test_gzip_bomb_is_bounded_by_the_decompressed_size(database_url: str) -> None:
    import gzip

    app: Flask = create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                             "MAX_DECOMPRESSED_BYTES": 1 << 20})
    api = ApiClient(app, ADMIN_TOKEN)
    api.put("/jobs/j/runs/1", json={"status": "success"})
    # 50 MiB of well-formed whitespace, ~50 KiB compressed: only the budget can stop it.
    bomb = gzip.compress(b"<testsuites>" + b" " * (50 << 20))
    response = api.post("/jobs/j/runs/1/junit", data=bomb,
                        headers={"Content-Type": "application/xml", "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.get_json()["error"]["details"]["limit"] == "MAX_DECOMPRESSED_BYTES"


def test_metrics_count_requests_and_ingested_results(api: ApiClient) -> None:
    api.put("/jobs/m/runs/1", json={"status": "success", "tests": [
        {"name": "a", "status": "passed"}, {"name": "b", "status": "failed"}]})
    response = api.get("/metrics")
    assert response.headers["Content-Type"].count("charset") == 1
    text = response.data.decode()
    assert "flakegate_ingested_test_results_total" in text
    assert 'route="/jobs/<seg:job>/runs/<seg:run_id>"' in text
    assert "flakegate_http_request_duration_seconds_bucket" in text
