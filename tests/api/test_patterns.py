"""``/patterns`` and ``/scans`` over HTTP: curating (admin, audited), reading, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

from api import create_app
from api.config import load_config
from api.services import patterns
from api.serving.scan_schedule import check_scan_config
from api.store import open_store
from api.store.patterns import ScanKind
from tests.conftest import ApiClient

OOM = {"expression": "Killed", "tags": ["infra"], "specificity": 3, "reason": "oom kills"}


def patch(client: ApiClient, path: str, **kwargs: Any) -> TestResponse:
    return client.request("PATCH", path, **kwargs)


@pytest.fixture
def as_scope(api: ApiClient, tokens: dict[str, str]) -> dict[str, ApiClient]:
    return {scope: api.as_token(token) for scope, token in tokens.items()}


def test_create_edit_promote_retire_are_audited_versions(api: ApiClient) -> None:
    made = api.post("/patterns", json=OOM)
    assert made.status_code == 201, made.json
    body = made.json
    assert body is not None
    pid = body["id"]
    assert (body["version"], body["syntax"], body["tags"], body["promoted"]) == (1, "literal",
                                                                                ["infra"], False)
    edited = patch(api, f"/patterns/{pid}", json={"expression": "Killed process \\d+",
                                                  "syntax": "regex", "reason": "narrower"})
    assert edited.status_code == 200 and edited.json["version"] == 2  # type: ignore[index]
    assert patch(api, f"/patterns/{pid}", json={"promoted": True}).json["promoted"]  # type: ignore[index]
    same = patch(api, f"/patterns/{pid}", json={"expression": "Killed process \\d+"})
    assert same.json["version"] == 2  # type: ignore[index]  # unchanged: no new version
    retired = api.post(f"/patterns/{pid}/retire", json={"reason": "obsolete"})
    assert retired.status_code == 200 and retired.json["retired"] is not None  # type: ignore[index]
    detail = api.get(f"/patterns/{pid}").json
    assert detail is not None
    assert [(a["action"], a["version"]) for a in detail["audit"]] == [
        ("retire", 2), ("promote", 2), ("edit", 2), ("create", 1)]
    assert detail["audit"][-1]["reason"] == "oom kills"
    assert {a["actor"] for a in detail["audit"]} == {"FLAKEGATE_ADMIN_TOKEN"}
    first = api.get(f"/patterns/{pid}?version=1").json
    assert first is not None and first["expression"] == "Killed" and first["version"] == 1
    assert api.get("/patterns").json["items"] == []  # type: ignore[index]
    listed = api.get("/patterns?include_retired=true&tag=infra").json
    assert [p["id"] for p in listed["items"]] == [pid]  # type: ignore[index]


def test_each_version_queues_one_backfill(api: ApiClient, database_url: str) -> None:
    pid = api.post("/patterns", json=OOM).json["id"]  # type: ignore[index]
    patch(api, f"/patterns/{pid}", json={"expression": "Out of memory"})
    patch(api, f"/patterns/{pid}", json={"description": "no new version, no new scan"})
    store = open_store(database_url)
    try:
        scans = [(s.kind, s.pattern_id, s.pattern_version) for s in store.patterns.open_scans()]
    finally:
        store.close()
    assert scans == [(ScanKind.BACKFILL, pid, 1), (ScanKind.BACKFILL, pid, 2),
                     (ScanKind.BACKFILL, pid, 3)]


@pytest.mark.parametrize("expression, reason", [
    ("(a)\\1", "back"),
    ("(?<=x)y", "look"),
    ("a*", "empty"),
])
def test_a_regex_the_engine_cannot_run_is_refused_with_the_reason(api: ApiClient,
                                                                  expression: str,
                                                                  reason: str) -> None:
    refused = api.post("/patterns", json={"expression": expression, "syntax": "regex"})
    assert refused.status_code == 422
    body = refused.json
    assert body is not None and reason in " ".join(body["error"]["details"]["expression"]).lower()


def test_reads_need_read_scope_and_curating_needs_admin(as_scope: dict[str, ApiClient],
                                                        api: ApiClient) -> None:
    pid = api.post("/patterns", json=OOM).json["id"]  # type: ignore[index]
    for scope in ("read", "write"):
        client = as_scope[scope]
        assert client.get("/patterns").status_code == 200
        assert client.get(f"/patterns/{pid}").status_code == 200
        assert client.get("/patterns/stats").status_code == 200
        assert client.post("/patterns", json=OOM).status_code == 403
        assert patch(client, f"/patterns/{pid}", json={"promoted": True}).status_code == 403
        assert client.post(f"/patterns/{pid}/retire").status_code == 403
        assert client.post("/scans", json={"since": "30d"}).status_code == 403
    assert api.as_token(None).get("/patterns").status_code == 401


@pytest.mark.parametrize("path", ["/patterns/999", "/patterns/99999999999999999999999",
                                  "/patterns/1?version=5", "/scans/12345",
                                  "/scans/99999999999999999999999"])
def test_unknown_patterns_and_scans_are_404s(api: ApiClient, path: str) -> None:
    api.post("/patterns", json=OOM)
    assert api.get(path).status_code == 404


def test_bad_inputs_are_422s_not_500s(api: ApiClient) -> None:
    assert api.post("/patterns", json={"expression": ""}).status_code == 422
    assert api.post("/patterns", json={"expression": "x", "syntax": "glob"}).status_code == 422
    assert api.post("/patterns", json={"expression": "x", "lines_from_end": 0}).status_code == 422
    assert api.post("/patterns", json={"expression": "x", "tags": ["a\x00"]}).status_code == 422
    assert api.get("/patterns/stats?since=yesterday").status_code == 422
    assert api.post("/scans", json={"since": "soon"}).status_code == 422
    assert patch(api, "/patterns/1", json={"promoted": True}).status_code == 404


def test_post_scans_queues_a_rescan_and_get_shows_it(api: ApiClient) -> None:
    queued = api.post("/scans", json={"since": "30d", "job": "j"})
    assert queued.status_code == 202
    body = queued.json
    assert body is not None and body["kind"] == "rescan" and body["state"] == "queued"
    got = api.get(f"/scans/{body['id']}").json
    assert got is not None and got["job"] == "j" and got["since"] is not None


@pytest.mark.parametrize("env, word", [
    ({"FLAKEGATE_SCAN_EVERY": "soon"}, "SCAN_EVERY"),
    ({"FLAKEGATE_GENERIC_PATTERN_SHARE": "most"}, "GENERIC_PATTERN_SHARE"),
    ({"FLAKEGATE_GENERIC_PATTERN_SHARE": "150"}, "between 0 and 1"),
    ({"FLAKEGATE_SCAN_PASSING_EVERY": "-1"}, "SCAN_PASSING_EVERY"),
])
def test_bad_scan_settings_are_refused_in_one_line(env: dict[str, str], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        check_scan_config(load_config(environ=env))
    check_scan_config(load_config(environ={}))  # the defaults are fine
    assert patterns.generic_share("30") == 0.3  # a percentage reads as one


def test_a_custom_generic_share_is_reported(api: ApiClient, database_url: str) -> None:
    custom = ApiClient(create_app({"DATABASE": database_url, "ADMIN_TOKEN": api.token,
                                   "GENERIC_PATTERN_SHARE": "0.05"}), api.token)
    pid = custom.post("/patterns", json=OOM).json["id"]  # type: ignore[index]
    generic = custom.get(f"/patterns/{pid}").json["generic"]  # type: ignore[index]
    assert generic["threshold"] == 0.05 and not generic["too_generic"]
    assert generic["failed_logs"] == 0  # nothing scanned yet: not judged on nothing
