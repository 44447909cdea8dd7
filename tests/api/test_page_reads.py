"""The JSON reads behind the pages: ``GET /payloads``, ``GET /jobs/{job}/tests`` and
``GET /jobs/{job}/tests/{key}/history`` (every response is checked against openapi.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from api.pages_urls import key_for_test
from tests.api.history import build_history, job_path, put_run
from tests.conftest import ApiClient

JOB = "periodic-ci/e2e aws (ovn)"


def every_item(api: ApiClient, path: str, limit: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    while True:
        response = api.get(f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.json
        items += response.json["items"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return items


def test_payloads_are_listed_newest_first_with_a_verdict_summary_per_job(
        api: ApiClient) -> None:
    build_history(api, JOB, runs=12, tests=5, flaky={"test-001": 3})
    deadline = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    for i in range(4):  # the bad payload: test-000 fails every run
        put_run(api, JOB, f"bad-{i}", payload="bad", status="failure",
                outcomes={"test-000": "failed", "test-002": "passed"})
    put_run(api, JOB, "good-0", payload="good", outcomes={"test-000": "passed"})
    assert api.put("/payloads/waiting", json={"expected": {JOB: 3},
                                              "deadline": deadline.isoformat()}).status_code == 201
    items = every_item(api, "/payloads", limit=2)
    ids = [item["payload"] for item in items]
    assert ids[:3] == ["waiting", "good", "bad"]
    assert len(ids) == 3 + 6  # and the history's old-0..old-5
    by_id = {item["payload"]: item for item in items}
    bad = by_id["bad"]
    assert bad["verdict"] == "fail" and bad["registered"] is False
    (job,) = bad["jobs"]  # type: ignore[misc]
    assert job["job"] == JOB and job["verdict"] == "fail"
    assert job["regressions"] >= 1 and job["failed_runs"] == 4 and job["pending_runs"] == 0
    assert job["deadline"] is None
    waiting = by_id["waiting"]
    assert waiting["verdict"] == "pending" and waiting["registered"] is True
    assert waiting["jobs"] == [{"job": JOB, "verdict": "pending", "regressions": 0,
                                "failed_runs": 0, "pending_runs": 3, "expected_runs": 3,
                                "finished_runs": 0, "deadline": waiting["deadline"]}]
    assert datetime.fromisoformat(str(waiting["deadline"])) == deadline


def test_the_payload_list_reuses_cached_verdicts(api: ApiClient, monkeypatch) -> None:
    build_history(api, JOB, runs=6, tests=3)
    first = api.get("/payloads").json
    from api.services import verdicts

    calls = []
    real = verdicts._judge_job
    monkeypatch.setattr(verdicts, "_judge_job", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert api.get("/payloads").json == first
    assert calls == [], "an unchanged payload is not judged again"
    put_run(api, JOB, "new", payload="old-0", outcomes={"test-000": "passed"})
    api.get("/payloads")
    assert calls == [1], "only the payload that changed is judged again"


def test_job_tests_are_least_stable_first_with_keys_and_filter(api: ApiClient) -> None:
    build_history(api, JOB, runs=12, tests=6, flaky={"test-003": 2, "test-001": 4})
    page = api.get(f"{job_path(JOB)}/tests?limit=2").json
    assert page["baseline"]["version"] == 1
    assert [t["name"] for t in page["items"]] == ["test-003", "test-001"]
    worst = page["items"][0]
    assert worst["key"] == key_for_test("e2e", "test-003")
    assert (worst["runs"], worst["failures"], worst["pass_rate"]) == (12, 6, 0.5)
    every = every_item(api, f"{job_path(JOB)}/tests?sort=name", limit=4)
    assert [t["name"] for t in every] == [f"test-{i:03d}" for i in range(6)]
    found = api.get(f"{job_path(JOB)}/tests?q=ST-00{5}").json["items"]
    assert [t["name"] for t in found] == ["test-005"]


def test_job_tests_without_a_baseline_and_of_an_unknown_job(api: ApiClient) -> None:
    put_run(api, JOB, "1", payload="p", outcomes={"a": "passed"})
    assert api.get(f"{job_path(JOB)}/tests").json == {"baseline": None, "items": [],
                                                      "next_cursor": None}
    missing = api.get(f"{job_path('nope')}/tests")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_a_tests_history_is_paged_newest_first_by_key(api: ApiClient) -> None:
    name = "[sig-storage] CSI mounts /var/lib?x=1 #frag 100%"
    for i in range(5):
        response = api.put(f"{job_path(JOB)}/runs/r{i}", json={
            "payload": f"p{i}", "status": "failure" if i % 2 else "success",
            "tests": [{"name": name, "suite": "e2e", "status": "failed" if i % 2 else "passed",
                       "duration_s": 1.5, "message": "timeout" if i % 2 else None}]})
        assert response.status_code == 201
    key = key_for_test("e2e", name)
    path = f"{job_path(JOB)}/tests/{key}/history"
    first = api.get(path).json
    assert first["test"] == {"key": key, "suite": "e2e", "name": name}
    items = every_item(api, path, limit=2)
    assert [item["run_id"] for item in items] == ["r4", "r3", "r2", "r1", "r0"]
    assert items[1] == {**items[1], "payload": "p3", "status": "failed", "run_status": "failure",
                        "duration_s": 1.5, "message": "timeout"}


def test_history_errors_are_in_the_error_shape(api: ApiClient) -> None:
    put_run(api, JOB, "1", payload="p", outcomes={"a": "passed"})
    key = key_for_test("e2e", "a")
    for path in (f"{job_path(JOB)}/tests/{key_for_test('e2e', 'b')}/history",
                 f"{job_path('nope')}/tests/{key}/history",
                 f"{job_path(JOB)}/tests/{quote('not/a key', safe='')}/history"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"
    bad_cursor = api.get(f"{job_path(JOB)}/tests/{key}/history?cursor=xyz")
    assert bad_cursor.status_code == 400
    assert bad_cursor.json["error"]["code"] == "invalid_cursor"
    for path in ("/payloads", f"{job_path(JOB)}/tests"):
        assert api.get(f"{path}?cursor=xyz").status_code == 400
        for limit in ("0", "1001", "x"):
            assert api.get(f"{path}?limit={limit}").status_code == 422
    assert api.get(f"{job_path(JOB)}/tests?sort=best").status_code == 422


def test_page_reads_need_a_read_token(api: ApiClient) -> None:
    anonymous = api.as_token(None)
    for path in ("/payloads", f"{job_path(JOB)}/tests",
                 f"{job_path(JOB)}/tests/{key_for_test('e2e', 'a')}/history"):
        assert anonymous.get(path).status_code == 401
