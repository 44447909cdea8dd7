from __future__ import annotations

from flask import Flask

from api import create_app
from tests.conftest import ApiClient


def test_no_token_is_401_with_a_challenge(api: ApiClient) -> None:
    response = api.as_token(None).get("/jobs")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]["code"] == "unauthorized"


def test_unknown_token_is_401(api: ApiClient) -> None:
    assert api.as_token("fg_made-up").get("/jobs").status_code == 401


def test_scopes_are_ordered_read_write_admin(api: ApiClient, tokens: dict[str, str]) -> None:
    read, write = api.as_token(tokens["read"]), api.as_token(tokens["write"])
    assert read.get("/jobs").status_code == 200
    forbidden = read.put("/jobs/j")
    assert forbidden.status_code == 403
    assert "write" in forbidden.json["error"]["message"]
    assert write.put("/jobs/j").status_code == 201
    assert write.get("/jobs/j").status_code == 200
    assert api.as_token(tokens["admin"]).put("/jobs/j").status_code == 200


def test_public_read_opens_reads_only(database_url: str) -> None:
    app: Flask = create_app({"DATABASE": database_url, "PUBLIC_READ": True})
    anonymous = ApiClient(app, None)
    assert anonymous.get("/jobs").status_code == 200
    assert anonymous.put("/jobs/j").status_code == 401


def test_health_metrics_and_contract_need_no_token(api: ApiClient) -> None:
    anonymous = api.as_token(None)
    assert anonymous.get("/healthz").json == {"status": "ok"}
    assert anonymous.get("/metrics").status_code == 200
    assert anonymous.get("/openapi.yaml").data.startswith(b"openapi: 3.1")
