"""Settings that can weaken the gate are admin-only and audited: a write token uploads, it does
not tune the gate (issue 10). One audit log holds settings changes, computations, loosenings."""

from __future__ import annotations

import pytest

from tests.api.history import build_history, job_path, put_run
from tests.conftest import ApiClient

JOB = "e2e (aws)/ovn"


def audit(api: ApiClient, path: str = "audit") -> list[dict]:
    response = api.get(f"{job_path(JOB)}/{path}?limit=100")
    assert response.status_code == 200, response.json
    return response.json["items"]


@pytest.mark.parametrize("body", [
    {"settings": {"latch": False}},
    {"settings": {"false_block_budget": 0.5}},
    {"settings": {"informing": ["test-001"]}},
    {"settings": {"require_baseline": False, "z": 3}},
    {"settings": {}},  # dropping every setting is a change too
    {"policy": "stddev"},
    {"expected_runs": 1},
])
def test_a_write_token_cannot_change_what_can_weaken_the_gate(
        api: ApiClient, tokens: dict[str, str], body: dict) -> None:
    assert api.put(job_path(JOB), json={"policy": "bayes", "expected_runs": 10, "settings": {
        "latch": True, "require_baseline": True}}).status_code == 201
    before = api.get(job_path(JOB)).json
    response = api.as_token(tokens["write"]).put(job_path(JOB), json=body)
    assert response.status_code == 403
    error = response.json["error"]
    assert error["code"] == "forbidden" and "admin" in error["message"]
    assert error["details"]["fields"] and all(f in error["message"]
                                              for f in error["details"]["fields"])
    assert api.get(job_path(JOB)).json == before


def test_a_write_token_cannot_create_a_job_with_loose_settings(
        api: ApiClient, tokens: dict[str, str]) -> None:
    response = api.as_token(tokens["write"]).put(
        job_path(JOB), json={"settings": {"false_block_budget": 0.5, "latch": False}})
    assert response.status_code == 403
    assert response.json["error"]["details"]["fields"] == ["false_block_budget", "latch"]
    assert api.get(job_path(JOB)).status_code == 404


def test_a_write_token_may_label_create_and_repeat(api: ApiClient,
                                                   tokens: dict[str, str]) -> None:
    writer = api.as_token(tokens["write"])
    assert writer.put(job_path(JOB), json={"variant": {"arch": "arm64"}}).status_code == 201
    put_run(writer, "implicit", "r1", payload="p", outcomes={"t": "passed"})  # runs create jobs
    api.put(job_path(JOB), json={"settings": {"latch": True}})
    # The values already in force are not a change.
    assert writer.put(job_path(JOB), json={"settings": {"latch": True}}).status_code == 200
    assert [(e["field"], e["old"], e["new"]) for e in audit(api)] == [
        ("latch", None, True), ("variant", {}, {"arch": "arm64"})]


def test_the_issue_sequence_is_refused_and_every_act_is_logged(
        api: ApiClient, tokens: dict[str, str]) -> None:
    build_history(api, JOB)
    assert api.put(job_path(JOB), json={"settings": {"latch": True}}).status_code == 200
    writer = api.as_token(tokens["write"])
    assert writer.put(job_path(JOB), json={"settings": {"latch": False}}).status_code == 403
    assert writer.post(f"{job_path(JOB)}/baselines", json={}).status_code == 201
    assert writer.put(job_path(JOB), json={"settings": {"latch": True}}).status_code == 200
    entries = audit(api.as_token(tokens["read"]))
    assert [(e["action"], e["field"]) for e in entries] == [
        ("compute", None), ("settings", "latch"), ("compute", None)]
    admin_change, writer_compute = entries[1], entries[0]
    assert admin_change["actor"] == "FLAKEGATE_ADMIN_TOKEN"
    assert admin_change["old"] is None and admin_change["new"] is True
    assert writer_compute["actor"].startswith("token sha256:")
    assert writer_compute["version"] == 2
    # The older path is the same log.
    assert audit(api, "baseline/audit") == entries


def test_an_admin_change_is_audited_with_old_and_new(api: ApiClient) -> None:
    api.put(job_path(JOB), json={"settings": {"false_block_budget": 0.01}})
    api.put(job_path(JOB), json={"policy": "aggregator",
                                 "settings": {"false_block_budget": 0.2, "informing": ["x"]}})
    assert [(e["field"], e["old"], e["new"]) for e in audit(api)] == [  # newest first
        ("informing", None, ["x"]), ("false_block_budget", 0.01, 0.2),
        ("policy", None, "aggregator"), ("false_block_budget", None, 0.01)]


def test_the_audit_of_an_unknown_job_is_404(api: ApiClient) -> None:
    response = api.get("/jobs/nobody/audit")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
