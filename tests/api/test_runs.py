from __future__ import annotations

from urllib.parse import quote

from tests.conftest import ApiClient

JOB = "/jobs/" + quote("e2e (aws)/ovn", safe="")


def run_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "payload": "4.19.0-0.nightly-2026-11-20-101010",
        "status": "failure",
        "started_at": "2026-11-20T10:00:00Z",
        "finished_at": "2026-11-20T12:00:00+02:00",
        "url": "https://prow.example/view/1",
        "variant": {"platform": "aws"},
        "metadata": {"pr": "123"},
        "tests": [
            {"name": "a", "suite": "s", "status": "passed", "duration_s": 1.5},
            {"name": "b", "suite": "s", "status": "failed", "message": "boom"},
            {"name": "c", "suite": "s", "status": "skipped"},
            {"name": "d", "suite": "s", "status": "error"},
            {"name": "e", "suite": "s", "status": "failed"},
            {"name": "e", "suite": "s", "status": "passed"},
        ],
    }
    body.update(overrides)
    return body


def test_put_run_creates_the_job_and_counts_tests(api: ApiClient) -> None:
    response = api.put(f"{JOB}/runs/1", json=run_body())
    assert response.status_code == 201
    run = response.json
    assert run["job"] == "e2e (aws)/ovn"
    assert run["counts"] == {"total": 5, "passed": 1, "failed": 1, "errors": 1,
                             "skipped": 1, "flaked": 1}
    assert run["finished_at"].startswith("2026-11-20T10:00:00"), "normalised to UTC"
    assert run["files"] == []
    assert api.get(JOB).status_code == 200


def test_put_run_is_idempotent(api: ApiClient) -> None:
    first = api.put(f"{JOB}/runs/1", json=run_body())
    second = api.put(f"{JOB}/runs/1", json=run_body())
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json == first.json


def test_put_run_without_tests_keeps_them_and_with_tests_replaces_them(api: ApiClient) -> None:
    api.put(f"{JOB}/runs/1", json=run_body())
    kept = api.put(f"{JOB}/runs/1", json=run_body(tests=None, status="success"))
    assert kept.json["status"] == "success"
    assert kept.json["counts"]["total"] == 5
    replaced = api.put(f"{JOB}/runs/1", json=run_body(tests=[{"name": "z", "status": "passed"}]))
    assert replaced.json["counts"]["total"] == 1
    tests = api.get(f"{JOB}/runs/1/tests").json["items"]
    assert [(t["suite"], t["name"], t["status"]) for t in tests] == [("", "z", "passed")]


def test_run_tests_are_paged_and_filterable(api: ApiClient) -> None:
    api.put(f"{JOB}/runs/1", json=run_body())
    failed = api.get(f"{JOB}/runs/1/tests?status=failed").json
    assert [t["name"] for t in failed["items"]] == ["b"]
    assert failed["items"][0]["message"] == "boom"
    names, cursor = [], None
    while True:
        page = api.get(f"{JOB}/runs/1/tests?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        names += [t["name"] for t in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert names == ["a", "b", "c", "d", "e"]


def test_list_runs_filters_by_payload_status_and_since(api: ApiClient) -> None:
    api.put(f"{JOB}/runs/1", json=run_body(payload="p1", status="success",
                                           started_at="2026-11-01T00:00:00Z"))
    api.put(f"{JOB}/runs/2", json=run_body(payload="p2", status="failure",
                                           started_at="2026-11-10T00:00:00Z"))
    api.put(f"{JOB}/runs/3", json=run_body(payload="p2", status="success",
                                           started_at="2026-11-20T00:00:00Z"))

    def ids(query: str) -> list[str]:
        return [run["run_id"] for run in api.get(f"{JOB}/runs{query}").json["items"]]

    assert ids("") == ["3", "2", "1"], "newest first"
    assert ids("?payload=p2") == ["3", "2"]
    assert ids("?status=success") == ["3", "1"]
    assert ids("?since=2026-11-05T00:00:00Z") == ["3", "2"]
    assert ids("?payload=p2&status=success") == ["3"]


def test_list_runs_of_unknown_job_is_404(api: ApiClient) -> None:
    assert api.get("/jobs/ghost/runs").status_code == 404
    assert api.get("/jobs/ghost/runs/1").status_code == 404


def test_invalid_run_fields_are_refused_whole_with_per_field_details(api: ApiClient) -> None:
    body = run_body(status="green", started_at="yesterday",
                    tests=[{"name": "", "status": "passed"}, {"name": "x", "status": "meh"}])
    response = api.put(f"{JOB}/runs/1", json=body)
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert {"status", "started_at", "tests"} <= set(details)
    assert api.get(f"{JOB}/runs/1").status_code == 404, "nothing was written"


def test_long_failure_messages_are_truncated_keeping_head_and_tail(api: ApiClient) -> None:
    message = "HEAD" + "x" * 200_000 + "TAIL"
    api.put(f"{JOB}/runs/1", json=run_body(tests=[{"name": "t", "status": "failed",
                                                   "message": message}]))
    stored = api.get(f"{JOB}/runs/1/tests").json["items"][0]["message"]
    assert stored.startswith("HEAD") and stored.endswith("TAIL")
    assert len(stored) <= 64 * 1024


def test_non_json_and_malformed_json_bodies(api: ApiClient) -> None:
    wrong_type = api.put(f"{JOB}/runs/1", data="status=success",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert wrong_type.status_code == 415
    malformed = api.put(f"{JOB}/runs/1", data="{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json["error"]["code"] == "invalid_json"
    not_object = api.put(f"{JOB}/runs/1", json=[1, 2])
    assert not_object.status_code == 400


def test_lone_surrogates_anywhere_in_a_body_are_malformed_json_not_a_crash(
        api: ApiClient) -> None:
    body = '{"status": "success", "metadata": {"k": "\\udc80"}}'
    response = api.put(f"{JOB}/runs/1", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "surrogate" in response.json["error"]["message"]
    paired = '{"status": "success", "metadata": {"k": "\\ud83d\\ude00"}}'  # a valid pair: 😀
    ok = api.put(f"{JOB}/runs/1", data=paired, headers={"Content-Type": "application/json"})
    assert ok.status_code == 201 and ok.json["metadata"] == {"k": "😀"}
