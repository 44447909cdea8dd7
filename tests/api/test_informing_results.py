"""Results marked informing by their upload (JUnit ``lifecycle="informing"``, inline
``"informing": true``) never block and are counted in the verdict's ``notes``."""

from __future__ import annotations

import re

import pytest

from tests.api.history import job_path
from tests.conftest import DATA, ApiClient

JOB = "periodic-ci-openshift-release-master-nightly-4.19-e2e-aws-ovn"
PAYLOAD = "4.19.0-0.nightly-2026-11-20-101010"
ORIGIN = (DATA / "junit" / "origin_e2e_informing.xml").read_bytes()
EVENTS = "[sig-arch] events should not repeat pathologically for ns/openshift-etcd-operator"


def upload(api: ApiClient, run_id: str, xml: bytes, *, payload: str,
           status: str = "failure") -> None:
    run = f"{job_path(JOB)}/runs/{run_id}"
    assert api.put(run, json={"status": status, "payload": payload}).status_code == 201
    response = api.post_junit(run, xml, filename="junit_e2e_20261120-101010.xml")
    assert response.status_code == 201, response.json


def history(api: ApiClient) -> None:
    """Ten earlier runs in which every test, the events test included, passed."""
    passing = re.sub(rb"<failure.*?</failure>", b"", ORIGIN, flags=re.DOTALL)
    assert b"<failure" not in passing
    for index in range(10):
        upload(api, f"h{index}", passing, payload=f"old-{index}", status="success")
    assert api.post(f"{job_path(JOB)}/baselines", json={}).status_code == 201


def judge(api: ApiClient) -> dict:
    response = api.get(f"/payloads/{PAYLOAD}/verdict")
    assert response.status_code == 200, response.json
    return response.json


def test_the_origin_files_informing_failure_passes_and_is_noted(api: ApiClient) -> None:
    history(api)
    for index in range(3):
        upload(api, f"p{index}", ORIGIN, payload=PAYLOAD)
    stored = api.get(f"{job_path(JOB)}/runs/p0/tests?limit=100").json["items"]
    marked = {(t["name"], t["status"]) for t in stored if t["informing"]}
    assert marked == {(EVENTS, "failed")}
    body = judge(api)
    assert body["verdict"] == "pass", body
    job = body["jobs"][0]
    assert job["notes"].get("informing") == 1 and job["regressions"] == []
    assert job["warnings"] == []


def test_without_the_lifecycle_the_same_failure_blocks(api: ApiClient) -> None:
    history(api)
    blocking = ORIGIN.replace(b'lifecycle="informing"', b'lifecycle="blocking"')
    for index in range(3):
        upload(api, f"p{index}", blocking, payload=PAYLOAD)
    job = judge(api)["jobs"][0]
    assert [r["test"] for r in job["regressions"]] == [EVENTS]


@pytest.mark.parametrize("informing", [True, False])
def test_inline_results_may_be_informing(api: ApiClient, informing: bool) -> None:
    for index in range(3):
        response = api.put(f"{job_path(JOB)}/runs/p{index}", json={
            "status": "failure", "payload": PAYLOAD,
            "tests": [{"name": "t", "status": "failed", "informing": informing},
                      {"name": "u", "status": "passed"}]})
        assert response.status_code == 201, response.json
    tests = api.get(f"{job_path(JOB)}/runs/p0/tests").json["items"]
    assert [(t["name"], t["informing"]) for t in tests] == [("t", informing), ("u", False)]
    job = judge(api)["jobs"][0]
    # No baseline: only the fail-safe floor can block, and it spares informing results.
    assert job["verdict"] == ("pass" if informing else "fail")
    assert job["notes"].get("informing", 0) == (1 if informing else 0)

