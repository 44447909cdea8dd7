from __future__ import annotations

from datetime import timedelta

from tests.api.history import NOW, build_history, job_path, names_of_tests, put_run
from tests.conftest import ApiClient

JOB = "unit"


def test_compute_stores_a_version_with_rates_and_a_prior(api: ApiClient) -> None:
    build_history(api, JOB, runs=20, flaky={"test-001": 4})
    version = api.get(f"{job_path(JOB)}/baselines").json["items"][0]
    assert version["version"] == 1 and version["runs"] == 20 and version["tests"] == 30
    assert version["window_days"] == 21 and version["max_runs"] == 200
    assert version["prior"]["alpha"] > 0 and version["prior"]["beta"] > 0
    page = api.get(f"{job_path(JOB)}/baseline?limit=10").json
    assert page["baseline"]["version"] == 1
    assert len(page["items"]) == 10 and page["next_cursor"]
    tests = {t["name"]: t for t in page["items"]}
    flaky = tests["test-001"]
    assert (flaky["runs"], flaky["failures"], flaky["pass_rate"]) == (20, 5, 0.75)
    assert abs(flaky["stddev"] - (0.25 * 0.75) ** 0.5) < 1e-9
    rest = api.get(f"{job_path(JOB)}/baseline?limit=10&cursor={page['next_cursor']}").json
    assert rest["items"][0]["name"] == "test-010"


def test_window_max_runs_exclusions_and_infra_runs(api: ApiClient) -> None:
    build_history(api, JOB, runs=10)
    put_run(api, JOB, "infra", payload="x", status="error",
            outcomes={name: "failed" for name in names_of_tests(30)})
    put_run(api, JOB, "judged", payload="now", status="failure",
            outcomes={name: "failed" for name in names_of_tests(30)})
    put_run(api, JOB, "ancient", payload="old", status="failure",
            started=NOW - timedelta(days=60),
            outcomes={name: "failed" for name in names_of_tests(30)})
    excluded = api.post(f"{job_path(JOB)}/baselines", json={"exclude_payload": "now"}).json
    assert excluded["runs"] == 10 and excluded["version"] == 2
    included = api.post(f"{job_path(JOB)}/baselines", json={}).json
    assert included["runs"] == 11
    capped = api.post(f"{job_path(JOB)}/baselines", json={"max_runs": 5,
                                                          "window_days": 90}).json
    assert capped["runs"] == 5
    versions = [v["version"] for v in api.get(f"{job_path(JOB)}/baselines").json["items"]]
    assert versions == [4, 3, 2, 1]
    old = api.get(f"{job_path(JOB)}/baseline?version=1").json["baseline"]
    assert old["version"] == 1


def test_latching_never_lowers_and_loosening_is_explicit_and_audited(
        api: ApiClient, tokens: dict[str, str]) -> None:
    api.put(job_path(JOB), json={"settings": {"latch": True}})
    build_history(api, JOB, runs=10)
    for index in range(10):  # test-000 starts failing half the time
        put_run(api, JOB, f"late{index}", payload=f"late-{index}",
                outcomes={name: ("failed" if name == "test-000" and index % 2 else "passed")
                          for name in names_of_tests(30)},
                started=NOW - timedelta(hours=2, minutes=index))
    latched = api.post(f"{job_path(JOB)}/baselines", json={}).json
    assert latched["latch"] is True
    record = next(t for t in api.get(f"{job_path(JOB)}/baseline").json["items"]
                  if t["name"] == "test-000")
    assert record["latched"] is True and record["pass_rate"] == 1.0
    assert record["observed_pass_rate"] == 0.75

    body = {"tests": [{"suite": "e2e", "name": "test-000"}],
            "reason": "known product change, see BUG-123"}
    assert api.as_token(tokens["write"]).post(
        f"{job_path(JOB)}/baseline/loosen", json=body).status_code == 403
    loosened = api.post(f"{job_path(JOB)}/baseline/loosen", json=body)
    assert loosened.status_code == 201
    assert "BUG-123" in loosened.json["note"]
    record = next(t for t in api.get(f"{job_path(JOB)}/baseline").json["items"]
                  if t["name"] == "test-000")
    assert record["latched"] is False and record["pass_rate"] == 0.75
    # One log since issue 10: the loosening is the newest entry, after settings and computes.
    audit = api.get(f"{job_path(JOB)}/baseline/audit").json["items"]
    assert [e["action"] for e in audit].count("loosen") == 1
    entry = audit[0]
    assert entry["action"] == "loosen" and entry["reason"] == body["reason"]
    assert entry["tests"] == [{"suite": "e2e", "name": "test-000"}]
    assert entry["version"] == loosened.json["version"]
    assert entry["actor"] == "FLAKEGATE_ADMIN_TOKEN"


def test_loosen_errors(api: ApiClient) -> None:
    api.put(job_path(JOB))
    body = {"tests": [{"name": "nope"}], "reason": "because"}
    assert api.post(f"{job_path(JOB)}/baseline/loosen", json=body).status_code == 404
    build_history(api, JOB, runs=3)
    unknown = api.post(f"{job_path(JOB)}/baseline/loosen", json=body)
    assert unknown.status_code == 422 and "nope" in str(unknown.json["error"]["details"])
    assert api.post(f"{job_path(JOB)}/baseline/loosen",
                    json={"tests": [], "reason": ""}).status_code == 422


def test_job_settings_are_validated(api: ApiClient) -> None:
    bad = api.put(job_path(JOB), json={"settings": {"false_block_budget": 2, "latch": "yes",
                                                    "colour": 1}})
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]["settings"]) == {"false_block_budget", "latch",
                                                             "colour"}


def test_baselines_of_unknown_jobs_are_404(api: ApiClient) -> None:
    assert api.post(f"{job_path('ghost')}/baselines", json={}).status_code == 404
    assert api.get(f"{job_path('ghost')}/baseline").status_code == 404
    assert api.get(f"{job_path('ghost')}/baselines").status_code == 404
    api.put(job_path("empty"))
    assert api.get(f"{job_path('empty')}/baseline").status_code == 404
