from __future__ import annotations

from urllib.parse import quote

from tests.conftest import ApiClient


def job_path(name: str) -> str:
    return "/jobs/" + quote(name, safe="")


def test_put_job_creates_then_updates_then_is_unchanged(api: ApiClient) -> None:
    created = api.put(job_path("e2e-aws"), json={"variant": {"platform": "aws"},
                                                  "expected_runs": 10})
    assert created.status_code == 201
    assert created.json["variant"] == {"platform": "aws"}
    assert created.json["expected_runs"] == 10

    updated = api.put(job_path("e2e-aws"), json={"policy": "aggregator"})
    assert updated.status_code == 200
    assert updated.json["policy"] == "aggregator"
    assert updated.json["variant"] == {"platform": "aws"}, "fields left out keep their value"

    again = api.put(job_path("e2e-aws"), json={"policy": "aggregator"})
    assert again.status_code == 200
    assert again.json["updated_at"] == updated.json["updated_at"]


def test_job_names_with_slashes_spaces_and_parentheses_round_trip(api: ApiClient) -> None:
    name = "periodic-ci/openshift release (from 4.18) [ovn] ünïcode?#%"
    assert api.put(job_path(name)).status_code == 201
    shown = api.get(job_path(name))
    assert shown.status_code == 200
    assert shown.json["name"] == name
    assert [job["name"] for job in api.get("/jobs").json["items"]] == [name]


def test_get_unknown_job_is_404_in_the_error_shape(api: ApiClient) -> None:
    response = api.get(job_path("nope"))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert "nope" in response.json["error"]["message"]


def test_list_jobs_paginates_in_name_order(api: ApiClient) -> None:
    names = [f"job-{index:02d}" for index in range(7)]
    for name in reversed(names):
        api.put(job_path(name))
    seen, cursor = [], None
    while True:
        query = "/jobs?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query).json
        seen += [job["name"] for job in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names


def test_invalid_job_fields_get_422_with_per_field_messages(api: ApiClient) -> None:
    response = api.put(job_path("j"), json={"policy": "coin-flip", "expected_runs": 0,
                                            "colour": "red"})
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert set(details) == {"policy", "expected_runs", "colour"}


def test_limit_above_the_ceiling_and_bad_cursor_are_refused(api: ApiClient) -> None:
    assert api.get("/jobs?limit=100000").status_code == 422
    assert api.get("/jobs?limit=0").status_code == 422
    bad = api.get("/jobs?cursor=not-a-cursor")
    assert bad.status_code == 400
    assert bad.json["error"]["code"] == "invalid_cursor"


def test_control_characters_in_a_job_name_are_refused(api: ApiClient) -> None:
    response = api.put("/jobs/" + quote("bad\x07name", safe=""))
    assert response.status_code == 422
