from __future__ import annotations

from tests.conftest import ApiClient


def test_register_show_and_update_a_payload(api: ApiClient) -> None:
    created = api.put("/payloads/4.19.0-rc.1", json={
        "expected": {"e2e-aws": 10, "e2e (gcp)/upgrade": 5},
        "deadline": "2026-11-21T06:00:00Z"})
    assert created.status_code == 201
    assert created.json["expected"] == {"e2e-aws": 10, "e2e (gcp)/upgrade": 5}
    unchanged = api.put("/payloads/4.19.0-rc.1", json={
        "expected": {"e2e-aws": 10, "e2e (gcp)/upgrade": 5},
        "deadline": "2026-11-21T06:00:00Z"})
    assert unchanged.status_code == 200
    updated = api.put("/payloads/4.19.0-rc.1", json={"expected": {"e2e-aws": 3}})
    assert updated.json["expected"] == {"e2e-aws": 3}
    assert updated.json["deadline"] is None
    assert api.get("/payloads/4.19.0-rc.1").json == updated.json


def test_payload_errors(api: ApiClient) -> None:
    assert api.get("/payloads/unknown").status_code == 404
    invalid = api.put("/payloads/x", json={"expected": {"job": 0}, "deadline": "soon"})
    assert invalid.status_code == 422
    assert set(invalid.json["error"]["details"]) == {"expected", "deadline"}
