from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.history import NOW, build_history, job_path, names_of_tests, put_run
from tests.conftest import ApiClient

JOB = "e2e (aws)/ovn"
PAYLOAD = "4.19.0-0.nightly-2026-11-20-101010"


def register(api: ApiClient, runs: int, deadline_in: timedelta = timedelta(hours=6)) -> None:
    response = api.put(f"/payloads/{PAYLOAD}", json={
        "expected": {JOB: runs}, "deadline": (NOW + deadline_in).isoformat()})
    assert response.status_code in (200, 201)


def payload_runs(api: ApiClient, count: int, *, broken: str | None = None,
                 broken_runs: int | None = None, start: int = 0) -> None:
    for index in range(start, start + count):
        outcomes = {name: "passed" for name in names_of_tests(30)}
        if broken and index < (broken_runs if broken_runs is not None else count + start):
            outcomes[broken] = "failed"
        put_run(api, JOB, f"p{index}", payload=PAYLOAD, outcomes=outcomes,
                status="failure" if broken else "success")


def verdict(api: ApiClient, query: str = "") -> dict:
    response = api.get(f"/payloads/{PAYLOAD}/verdict{query}")
    assert response.status_code == 200, response.json
    return response.json


@pytest.mark.parametrize("policy", ["bayes", "aggregator", "stddev"])
def test_a_test_broken_by_the_payload_fails_it_under_every_policy(api: ApiClient,
                                                                  policy: str) -> None:
    build_history(api, JOB)
    register(api, 6)
    payload_runs(api, 6, broken="test-007")
    body = verdict(api, f"?policy={policy}")
    assert body["verdict"] == "fail" and body["policy"] == policy
    job = body["jobs"][0]
    assert job["runs"] == {"expected": 6, "finished": 6, "counted": 6, "pending": 0}
    assert job["baseline"]["runs"] == 40
    assert [r["test"] for r in job["regressions"]] == ["test-007"]
    regression = job["regressions"][0]
    assert regression["passes"] == 0 and regression["failures"] == 6
    assert regression["baseline_pass_rate"] == 1.0
    assert regression["p_value"] < 0.01 and regression["reason"]


@pytest.mark.parametrize("policy", ["bayes", "aggregator", "stddev"])
def test_a_payload_like_its_history_passes(api: ApiClient, policy: str) -> None:
    build_history(api, JOB)
    register(api, 6)
    payload_runs(api, 6)
    body = verdict(api, f"?policy={policy}")
    assert body["verdict"] == "pass", body
    assert body["jobs"][0]["tests_checked"] == 30


def test_a_known_flake_failing_once_does_not_block_under_bayes(api: ApiClient) -> None:
    build_history(api, JOB, flaky={"test-003": 4})  # fails 25% of history runs
    register(api, 6)
    payload_runs(api, 6, broken="test-003", broken_runs=2)
    assert verdict(api)["verdict"] == "pass"


def test_pending_until_the_expected_runs_finish_then_final(api: ApiClient) -> None:
    build_history(api, JOB)
    register(api, 4)
    payload_runs(api, 2)
    put_run(api, JOB, "still-running", payload=PAYLOAD, outcomes={}, status="pending")
    body = verdict(api)
    assert body["verdict"] == "pending"
    job = body["jobs"][0]
    assert job["runs"] == {"expected": 4, "finished": 2, "counted": 2, "pending": 2}
    assert "2 of 4" in job["reason"]
    payload_runs(api, 2, start=2)
    assert verdict(api)["verdict"] == "pass"


def test_after_the_deadline_what_finished_is_judged_and_said(api: ApiClient) -> None:
    build_history(api, JOB)
    register(api, 10, deadline_in=-timedelta(minutes=1))
    payload_runs(api, 3, broken="test-001")
    body = verdict(api)
    assert body["deadline_passed"] is True
    job = body["jobs"][0]
    assert job["verdict"] == "fail"
    assert "deadline passed with 3 of 10 runs finished" in job["reason"]


def test_error_and_aborted_runs_are_not_evidence(api: ApiClient) -> None:
    build_history(api, JOB)
    register(api, 2)
    put_run(api, JOB, "infra-1", payload=PAYLOAD, status="error",
            outcomes={name: "failed" for name in names_of_tests(30)})
    put_run(api, JOB, "infra-2", payload=PAYLOAD, status="aborted", outcomes={})
    body = verdict(api)
    job = body["jobs"][0]
    assert job["runs"]["finished"] == 2 and job["runs"]["counted"] == 0
    assert job["verdict"] == "fail" and "error or were aborted" in job["reason"]
    payload_runs(api, 6)
    assert verdict(api)["jobs"][0]["runs"]["counted"] == 6
    assert verdict(api)["verdict"] == "pass"


def test_informing_tests_never_block(api: ApiClient) -> None:
    build_history(api, JOB)
    api.put(job_path(JOB), json={"settings": {"informing": ["test-007"]}})
    register(api, 6)
    payload_runs(api, 6, broken="test-007")
    assert verdict(api)["verdict"] == "pass"
    assert verdict(api, "?policy=aggregator")["verdict"] == "pass"


def test_no_baseline_judges_every_test_as_new_and_says_so(api: ApiClient) -> None:
    register(api, 3)
    payload_runs(api, 3, broken="test-002")
    body = verdict(api)
    job = body["jobs"][0]
    assert job["baseline"] is None
    assert "no baseline yet" in job["reason"]
    assert [r["test"] for r in job["regressions"]] == ["test-002"], "0 of 3 passes: permanent"
    assert job["notes"]["new_test"] >= 29


def test_runs_without_registration_define_the_payload(api: ApiClient) -> None:
    build_history(api, JOB)
    payload_runs(api, 3)
    body = verdict(api)
    assert body["deadline"] is None
    assert body["jobs"][0]["runs"]["expected"] == 3


def test_etag_revalidation_and_invalidation_when_a_run_changes(api: ApiClient) -> None:
    build_history(api, JOB)
    register(api, 6)
    payload_runs(api, 6)
    first = api.get(f"/payloads/{PAYLOAD}/verdict")
    etag = first.headers["ETag"]
    unchanged = api.get(f"/payloads/{PAYLOAD}/verdict", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    put_run(api, JOB, "p0", payload=PAYLOAD, status="failure",
            outcomes={name: "failed" for name in names_of_tests(30)})
    changed = api.get(f"/payloads/{PAYLOAD}/verdict", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    markdown = api.get(f"/payloads/{PAYLOAD}/verdict?format=markdown",
                       headers={"If-None-Match": changed.headers["ETag"]})
    assert markdown.status_code == 200, "an ETag is per format"


def test_cached_and_uncached_verdicts_agree(api: ApiClient, database_url: str) -> None:
    from api import create_app
    from tests.conftest import ADMIN_TOKEN

    build_history(api, JOB)
    register(api, 6)
    payload_runs(api, 6, broken="test-009")
    cached = verdict(api)
    uncached = ApiClient(create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                                     "VERDICT_CACHE": False}), ADMIN_TOKEN)
    assert uncached.get(f"/payloads/{PAYLOAD}/verdict").json == cached


def test_markdown_summary(api: ApiClient) -> None:
    build_history(api, JOB)
    register(api, 6)
    payload_runs(api, 6, broken="test-004")
    response = api.get(f"/payloads/{PAYLOAD}/verdict?format=markdown")
    assert response.mimetype == "text/markdown"
    text = response.get_data(as_text=True)
    assert "**fail**" in text and "| e2e (aws)/ovn |" in text and "test-004" in text


def test_unknown_payload_and_bad_query(api: ApiClient) -> None:
    assert api.get("/payloads/never-seen/verdict").status_code == 404
    register(api, 1)
    assert api.get(f"/payloads/{PAYLOAD}/verdict?policy=coin").status_code == 422
    assert api.get(f"/payloads/{PAYLOAD}/verdict?format=pdf").status_code == 422
