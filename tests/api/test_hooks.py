"""POST /hooks/github: signature first, ping, ignored events, durable queueing, redeliveries;
GET /work for admins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app
from api.hooks.signature import sign
from api.store import open_store
from tests.conftest import ADMIN_TOKEN, ApiClient

SECRET = "s3cret-for-webhooks"
SHA = "a" * 40


@pytest.fixture
def app(database_url: str) -> Flask:
    return create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                       "GITHUB_WEBHOOK_SECRET": SECRET, "GITHUB_WEBHOOK_MAX_BYTES": 4096})


def deliver(api: ApiClient, event: str, payload: Any, *, delivery: str = "d-1",
            secret: str = SECRET, signature: str | None = None, check: bool = True) -> Any:
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
               "X-Hub-Signature-256": signature if signature is not None else sign(secret, body),
               "Content-Type": "application/json"}
    return api.as_token(None).post("/hooks/github", data=body, headers=headers, check=check)


def job_event(action: str = "completed") -> dict[str, Any]:
    return {"action": action, "repository": {"full_name": "octo/repo"},
            "workflow_job": {"id": 7, "run_id": 70, "run_attempt": 1, "name": "unit",
                             "workflow_name": "CI", "head_sha": SHA, "status": "completed",
                             "conclusion": "failure"}}


def queued(database_url: str) -> list[Any]:
    store = open_store(database_url)
    try:
        return list(store.work.list_work(limit=100).items)
    finally:
        store.close()


def test_a_bad_or_missing_signature_is_refused_before_parsing(api: ApiClient,
                                                              database_url: str) -> None:
    for signature in ("", "sha256=" + "0" * 64, sign("other", b"{}"), "sha256=\u00e9"):
        answer = deliver(api, "workflow_job", job_event(), signature=signature)
        assert answer.status_code == 401
        assert answer.get_json()["error"]["code"] == "bad_signature"
    # Not JSON at all, unsigned: still a 401, not a parse error.
    raw = api.as_token(None).post("/hooks/github", data=b"{not json",
                                  headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": "x"})
    assert raw.status_code == 401
    assert queued(database_url) == []


def test_ping_answers_with_its_zen(api: ApiClient) -> None:
    answer = deliver(api, "ping", {"zen": "Keep it logically awesome.", "hook_id": 5})
    assert answer.status_code == 200
    assert answer.get_json()["zen"] == "Keep it logically awesome."


def test_a_completed_job_is_queued_once_however_often_redelivered(
        api: ApiClient, database_url: str) -> None:
    first = deliver(api, "workflow_job", job_event())
    assert first.status_code == 202 and first.get_json()["queued"] is True
    again = deliver(api, "workflow_job", job_event())
    assert again.status_code == 200 and again.get_json()["queued"] is False
    items = queued(database_url)
    assert [(item.kind, item.key) for item in items] == [("github.delivery", "d-1")]
    assert json.loads(items[0].body) == {"event": "workflow_job", "payload": job_event()}


@pytest.mark.parametrize(("event", "payload"), [
    ("issues", {"action": "opened"}),
    ("workflow_job", job_event("in_progress")),
    ("pull_request", {"action": "closed"}),
])
def test_events_that_need_no_work_are_ignored(api: ApiClient, database_url: str, event: str,
                                              payload: dict[str, Any]) -> None:
    answer = deliver(api, event, payload)
    assert answer.status_code == 202
    assert answer.get_json()["queued"] is False and answer.get_json()["reason"]
    assert queued(database_url) == []


def test_form_encoded_deliveries_are_read_too(api: ApiClient, database_url: str) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(job_event())}).encode()
    answer = api.as_token(None).post(
        "/hooks/github", data=body,
        headers={"X-GitHub-Event": "workflow_job", "X-GitHub-Delivery": "form-1",
                 "X-Hub-Signature-256": sign(SECRET, body),
                 "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 202
    assert [item.key for item in queued(database_url)] == ["form-1"]


def test_limits_and_malformed_deliveries(api: ApiClient) -> None:
    big = deliver(api, "workflow_job", {"pad": "x" * 5000})
    assert big.status_code == 413
    assert deliver(api, "workflow_job", job_event(), delivery="").status_code == 400
    assert deliver(api, "workflow_job", job_event(), delivery="x" * 200).status_code == 400
    assert deliver(api, "workflow_job", [1, 2]).status_code == 400
    body = b"\xff\xfe not json"
    answer = api.as_token(None).post("/hooks/github", data=body, headers={
        "X-GitHub-Event": "workflow_job", "X-GitHub-Delivery": "d",
        "X-Hub-Signature-256": sign(SECRET, body), "Content-Type": "application/json"})
    assert answer.status_code == 400


def test_without_a_secret_hooks_are_refused_clearly(tmp_path: Path, database_url: str) -> None:
    plain = ApiClient(create_app({"DATABASE": database_url}), None)
    answer = deliver(plain, "ping", {"zen": "z"})
    assert answer.status_code == 403
    assert "FLAKEGATE_GITHUB_WEBHOOK_SECRET" in answer.get_json()["error"]["message"]


def test_the_work_queue_is_for_admins(api: ApiClient, tokens: dict[str, str]) -> None:
    deliver(api, "workflow_job", job_event())
    assert api.as_token(tokens["write"]).get("/work").status_code == 403
    listed = api.as_token(ADMIN_TOKEN).get("/work?state=queued&kind=github.delivery")
    assert listed.status_code == 200
    (item,) = listed.get_json()["items"]
    assert (item["key"], item["state"], item["attempts"]) == ("d-1", "queued", 0)
    assert "body" not in item
    assert api.as_token(ADMIN_TOKEN).get("/work?state=nope").status_code == 422


# -- publications queued after API writes ------------------------------------------------------

def github_app(database_url: str, **extra: Any) -> ApiClient:
    config = {"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN, "GITHUB_TOKEN": "t",
              "GITHUB_PUBLISH_DELAY": "0", **extra}
    return ApiClient(create_app(config), ADMIN_TOKEN)


def publications(database_url: str) -> list[tuple[str, str]]:
    return sorted((item.key, item.state.value) for item in queued(database_url)
                  if item.kind == "github.publish")


GITHUB_META = {"ci": "github-actions", "repository": "octo/repo"}


def test_a_write_to_a_github_run_queues_one_publication(database_url: str) -> None:
    api = github_app(database_url)
    for run_id in ("1", "2"):
        put = api.put(f"/jobs/octo%2Frepo%2FCI%2Funit/runs/{run_id}",
                      json={"status": "success", "payload": SHA, "metadata": GITHUB_META})
        assert put.status_code == 201
    assert api.post("/jobs/octo%2Frepo%2FCI%2Funit/runs/1/junit?filename=a.xml",
                    data=b'<testsuite name="s"><testcase name="t"/></testsuite>',
                    headers={"Content-Type": "application/xml"}).status_code == 201
    assert api.put("/jobs/octo%2Frepo%2FCI%2Funit/runs/1/logs/build", data=b"log\n",
                   headers={"Content-Type": "text/plain"}).status_code == 201
    assert publications(database_url) == [(SHA, "queued")]  # one, however many writes


def test_runs_of_other_systems_or_without_github_configured_queue_nothing(
        database_url: str, app: Flask) -> None:
    api = github_app(database_url)
    assert api.put("/jobs/prow-job/runs/1", json={
        "status": "failure", "payload": SHA,
        "metadata": {"ci": "prow", "repository": "octo/repo"}}).status_code == 201
    assert api.put("/jobs/gh/runs/1", json={"status": "failure",
                                            "metadata": GITHUB_META}).status_code == 201
    unconfigured = ApiClient(app, ADMIN_TOKEN)
    assert unconfigured.put("/jobs/gh/runs/2", json={
        "status": "failure", "payload": SHA, "metadata": GITHUB_META}).status_code == 201
    assert publications(database_url) == []


def test_a_payload_deadline_gets_a_publication_of_its_own(database_url: str) -> None:
    api = github_app(database_url)
    assert api.put("/jobs/gh/runs/1", json={"status": "pending", "payload": SHA,
                                             "metadata": GITHUB_META}).status_code == 201
    registered = api.put(f"/payloads/{SHA}", json={"expected": {"gh": 2},
                                                   "deadline": "2099-01-01T00:00:00Z"})
    assert registered.status_code in (200, 201), registered.get_data(as_text=True)
    assert publications(database_url) == [(SHA, "queued"), (f"{SHA}@deadline", "queued")]
    (deadline,) = [item for item in queued(database_url) if item.key.endswith("@deadline")]
    assert deadline.not_before.year == 2099


def test_a_new_baseline_republishes_the_jobs_recent_github_payloads(database_url: str) -> None:
    api = github_app(database_url)
    for index in range(4):
        assert api.put(f"/jobs/gh/runs/{index}", json={
            "status": "success", "payload": f"{index:040x}", "metadata": GITHUB_META,
            "tests": [{"suite": "s", "name": "t", "status": "passed"}]}).status_code == 201
    store = open_store(database_url)
    try:
        while (item := store.work.claim("test", 30)) is not None:
            store.work.complete(item.id, "test")
    finally:
        store.close()
    assert {state for _, state in publications(database_url)} == {"done"}
    assert api.post("/jobs/gh/baselines", json={}).status_code == 201
    assert sorted(key for key, state in publications(database_url) if state == "queued") == [
        f"{index:040x}" for index in range(4)]
