"""Admin repairs over HTTP: deleting runs and payload registrations, and managing tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from api import create_app
from api.auth import hash_token, new_token
from api.config import ConfigError
from api.domain import Scope
from api.store import open_store
from tests.conftest import ApiClient


def delete(api: ApiClient, path: str) -> int:
    return api.request("DELETE", path).status_code


@pytest.fixture
def as_scope(api: ApiClient, tokens: dict[str, str]) -> dict[str, ApiClient]:
    return {scope: api.as_token(token) for scope, token in tokens.items()}


def audit_of(database_url: str, job: str) -> list[tuple[str, str, str]]:
    store = open_store(database_url)
    try:
        return [(e.action, e.actor, e.reason) for e in store.list_audit(job, limit=10).items]
    finally:
        store.close()


# -- DELETE /jobs/{job}/runs/{run_id} ----------------------------------------------------------


def test_deleting_a_run_needs_admin_and_is_audited(api: ApiClient, as_scope: dict[str, ApiClient],
                                                   database_url: str) -> None:
    api.put("/jobs/j/runs/1", json={"status": "pending", "payload": "p"})
    assert delete(as_scope["read"], "/jobs/j/runs/1") == 403
    assert delete(as_scope["write"], "/jobs/j/runs/1") == 403
    assert api.get("/jobs/j/runs/1").status_code == 200
    response = as_scope["admin"].request("DELETE", "/jobs/j/runs/1?reason=upload%20failed")
    assert response.status_code == 204 and response.get_data() == b""
    assert api.get("/jobs/j/runs/1").status_code == 404
    assert api.get("/jobs/j/runs").json["items"] == []
    admin_id = hash_token(as_scope["admin"].token or "")[:12]
    assert audit_of(database_url, "j") == [("delete_run", f"token sha256:{admin_id}",
                                            "upload failed")]
    assert delete(api, "/jobs/j/runs/1") == 404
    assert delete(api, "/jobs/nope/runs/1") == 404
    assert api.put("/jobs/j/runs/1", json={"status": "success"}).status_code == 201


def test_a_deleted_pending_run_no_longer_holds_the_verdict(api: ApiClient) -> None:
    api.put("/payloads/p", json={"expected": {"j": 2}})
    api.put("/jobs/j/runs/1", json={"status": "success", "payload": "p",
                                    "tests": [{"name": "t", "status": "passed"}]})
    api.put("/jobs/j/runs/2", json={"status": "pending", "payload": "p"})
    assert api.get("/payloads/p/verdict").json["verdict"] == "pending"
    assert delete(api, "/jobs/j/runs/2") == 204
    api.put("/payloads/p", json={"expected": {"j": 1}})
    assert api.get("/payloads/p/verdict").json["verdict"] == "pass"


# -- DELETE /payloads/{id} ---------------------------------------------------------------------


def test_deleting_a_payload_keeps_its_runs(api: ApiClient, as_scope: dict[str, ApiClient],
                                           database_url: str) -> None:
    api.put("/payloads/p", json={"expected": {"j": 3}})
    api.put("/jobs/j/runs/1", json={"status": "success", "payload": "p"})
    assert delete(as_scope["write"], "/payloads/p") == 403
    assert delete(as_scope["read"], "/payloads/p") == 403
    assert delete(api, "/payloads/p") == 204
    assert api.get("/payloads/p").status_code == 404
    assert api.get("/jobs/j/runs/1").status_code == 200
    assert audit_of(database_url, "j") == [
        ("delete_payload", "FLAKEGATE_ADMIN_TOKEN", "payload 'p' registration deleted")]
    assert delete(api, "/payloads/p") == 404


# -- /tokens -----------------------------------------------------------------------------------


def test_token_endpoints_are_admin_only(as_scope: dict[str, ApiClient]) -> None:
    for scope in ("read", "write"):
        client = as_scope[scope]
        assert client.get("/tokens").status_code == 403
        assert client.post("/tokens", json={"scope": "read"}).status_code == 403
        assert delete(client, "/tokens/000000000000") == 403


def test_a_created_token_works_is_listed_without_secrets_and_can_be_revoked(
        api: ApiClient) -> None:
    made = api.post("/tokens", json={"scope": "write", "label": "ci", "expires_in": "90d"})
    assert made.status_code == 201
    body = made.json
    secret = body["token"]
    assert secret.startswith("fg_") and body["id"] == hash_token(secret)[:12]
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=1)
    holder = api.as_token(secret)
    assert holder.put("/jobs/j").status_code == 201

    listed = {t["id"]: t for t in api.get("/tokens").json["items"]}
    mine = listed[body["id"]]
    assert (mine["scope"], mine["label"], mine["revoked_at"]) == ("write", "ci", None)
    assert mine["last_used_at"] is not None  # its first use was recorded
    text = api.get("/tokens").get_data(as_text=True)
    assert secret not in text and hash_token(secret) not in text

    assert delete(api, f"/tokens/{body['id']}") == 204
    refused = holder.get("/jobs")
    assert refused.status_code == 401 and "revoked" in refused.json["error"]["message"]
    revoked = {t["id"]: t for t in api.get("/tokens").json["items"]}[body["id"]]
    assert revoked["revoked_by"] == "FLAKEGATE_ADMIN_TOKEN" and revoked["revoked_at"]
    assert delete(api, "/tokens/ffffffffffff") == 404


def test_tokens_are_paged(api: ApiClient) -> None:
    ids = {api.post("/tokens", json={"scope": "read"}).json["id"] for _ in range(3)}
    first = api.get("/tokens?limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.get(f"/tokens?limit=2&cursor={first['next_cursor']}").json
    assert {t["id"] for t in first["items"] + rest["items"]} == ids
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("body", [
    {}, {"scope": "root"}, {"scope": "read", "expires_in": "soon"},
    {"scope": "read", "expires_in": "0s"}, {"scope": "read", "expires_in": "99999d"},
    {"scope": "read", "expires_at": "2001-01-01T00:00:00Z"},
    {"scope": "read", "expires_in": "1d", "expires_at": "2099-01-01T00:00:00Z"},
    {"scope": "read", "label": "a\u0000b"},
])
def test_bad_token_requests_are_422(api: ApiClient, body: dict[str, object]) -> None:
    assert api.post("/tokens", json=body).status_code == 422


def test_an_expired_token_is_401(api: ApiClient, database_url: str) -> None:
    token = new_token()
    store = open_store(database_url)
    try:
        store.add_token(hash_token(token), Scope.ADMIN, "short",
                        datetime.now(UTC) - timedelta(seconds=1))
    finally:
        store.close()
    refused = api.as_token(token).get("/jobs")
    assert refused.status_code == 401 and "expired" in refused.json["error"]["message"]


def test_an_expiring_token_works_until_it_expires(api: ApiClient) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    secret = api.post("/tokens", json={"scope": "read", "expires_at": at}).json["token"]
    assert api.as_token(secret).get("/jobs").status_code == 200
    time.sleep(max(0.0, (datetime.fromisoformat(at) - datetime.now(UTC)).total_seconds()))
    assert api.as_token(secret).get("/jobs").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(api: ApiClient, database_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from api.store.sqlite.store import SqliteStore

    secret = api.post("/tokens", json={"scope": "read"}).json["token"]
    touches: list[str] = []
    original = SqliteStore.touch_token

    def counting(self: SqliteStore, token_id: str, at: datetime) -> None:
        touches.append(token_id)
        original(self, token_id, at)

    monkeypatch.setattr(SqliteStore, "touch_token", counting)
    holder = api.as_token(secret)
    for _ in range(5):
        assert holder.get("/jobs").status_code == 200
    assert touches == [hash_token(secret)[:12]]


# -- the bootstrap admin token -----------------------------------------------------------------


def test_a_short_admin_token_refuses_to_start(database_url: str) -> None:
    with pytest.raises(ConfigError, match="at least 32 characters"):
        create_app({"DATABASE": database_url, "ADMIN_TOKEN": "fg_short"})
    app: Flask = create_app({"DATABASE": database_url, "ADMIN_TOKEN": "x" * 32})
    assert ApiClient(app, "x" * 32).get("/jobs").status_code == 200
    create_app({"DATABASE": database_url, "ADMIN_TOKEN": None})  # unset: no bootstrap token
