"""``/breakages`` over HTTP: admin declares and resolves (recorded on the breakage), all read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ApiClient


@pytest.fixture
def as_scope(api: ApiClient, tokens: dict[str, str]) -> dict[str, ApiClient]:
    return {scope: api.as_token(token) for scope, token in tokens.items()}


def declare(api: ApiClient, **body: object) -> dict[str, object]:
    response = api.post("/breakages", json={"cause": "abc123", "jobs": ["unit"], **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_declaring_and_resolving_need_admin(as_scope: dict[str, ApiClient]) -> None:
    for scope in ("read", "write"):
        assert as_scope[scope].post("/breakages", json={"cause": "x"}).status_code == 403
    made = declare(as_scope["admin"], notes="mirror 503s")
    assert made["ongoing"] is True and made["resolution"] is None
    assert made["created_by"].startswith("token sha256:")
    for scope in ("read", "write"):
        response = as_scope[scope].request("PATCH", f"/breakages/{made['id']}",
                                           json={"resolution": "fix"})
        assert response.status_code == 403
    assert as_scope["read"].get(f"/breakages/{made['id']}").get_json() == made


def test_resolving_once_with_a_commit_or_payload(api: ApiClient) -> None:
    made = declare(api, started="2026-01-01T00:00:00Z")
    done = api.request("PATCH", f"/breakages/{made['id']}",
                       json={"resolution": "payload p42", "resolved": "2026-01-02T00:00:00Z"})
    assert done.status_code == 200
    body = done.get_json()
    assert (body["ongoing"], body["resolution"], body["resolved"]) == (
        False, "payload p42", "2026-01-02T00:00:00+00:00")
    assert body["resolved_by"] == body["created_by"]
    again = api.request("PATCH", f"/breakages/{made['id']}", json={"resolution": "other"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"


def test_times_are_checked(api: ApiClient) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert api.post("/breakages", json={"cause": "x", "started": future}).status_code == 422
    made = declare(api, started="2026-01-05T00:00:00Z")
    early = api.request("PATCH", f"/breakages/{made['id']}",
                        json={"resolution": "fix", "resolved": "2026-01-01T00:00:00Z"})
    assert early.status_code == 422 and "resolved" in early.get_json()["error"]["details"]


@pytest.mark.parametrize("path", ["/breakages/0", "/breakages/99",
                                  "/breakages/99999999999999999999999999"])
def test_unknown_ids_are_404_in_the_envelope(api: ApiClient, path: str) -> None:
    assert api.get(path).status_code == 404
    assert api.request("PATCH", path, json={"resolution": "x"}).status_code == 404


@pytest.mark.parametrize("body", [{}, {"cause": ""}, {"cause": "a\x00b"}, {"cause": "x",
                                  "jobs": ["ok", ""]}, {"cause": "x", "pattern_id": 0},
                                  {"cause": "x", "pattern_id": 2**70}, {"cause": "x", "y": 1}])
def test_bad_bodies_are_422(api: ApiClient, body: dict[str, object]) -> None:
    assert api.post("/breakages", json=body).status_code == 422


def test_listing_filters_by_state_and_job(api: ApiClient) -> None:
    declare(api, jobs=["unit"])
    declare(api, jobs=[])
    third = declare(api, jobs=["e2e"])
    api.request("PATCH", f"/breakages/{third['id']}", json={"resolution": "fix"})

    def ids(query: str) -> list[int]:
        response = api.get(f"/breakages?{query}")
        assert response.status_code == 200
        return [b["id"] for b in response.get_json()["items"]]

    assert ids("") == [3, 2, 1]
    assert ids("ongoing=true") == [2, 1]
    assert ids("ongoing=false") == [3]
    assert ids("job=unit") == [2, 1]
    page = api.get("/breakages?limit=2").get_json()
    assert api.get(f"/breakages?limit=2&cursor={page['next_cursor']}").get_json()["items"][0][
        "id"] == 1


def test_the_failure_mode_must_be_a_known_pattern(api: ApiClient) -> None:
    refused = api.post("/breakages", json={"cause": "x", "pattern_id": 7})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"] == {"pattern_id": ["no pattern 7"]}
    made = api.post("/patterns", json={"expression": "etcdserver: leader changed"})
    assert made.status_code == 201
    assert declare(api, pattern_id=made.get_json()["id"])["pattern_id"] == made.get_json()["id"]
