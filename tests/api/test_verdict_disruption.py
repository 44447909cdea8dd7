"""The verdict's disruption section through the API: policies, settings, Markdown, allowance."""

from __future__ import annotations

import pytest

from api.services.errors import InvalidInput
from api.services.job_settings import JobSettings
from tests.api.disruption_history import (
    BACKEND,
    DOUBLED,
    GOOD,
    payload_runs,
    steady_history,
)
from tests.api.history import job_path
from tests.conftest import ApiClient

JOB = "periodic-ci-openshift-release-master-ci-4.16-upgrade-from-stable-4.15-e2e-aws-ovn-upgrade"


def job_verdict(api: ApiClient, payload: str) -> dict:
    response = api.get(f"/payloads/{payload}/verdict")
    assert response.status_code == 200, response.json
    return response.json["jobs"][0]


@pytest.mark.parametrize("policy", ["bayes", "aggregator"])
def test_doubled_disruption_on_5_of_10_runs_fails_the_job_a_good_payload_passes(
        api: ApiClient, policy: str) -> None:
    assert api.put(job_path(JOB), json={"settings": {"disruption_policy": policy}}
                   ).status_code in (200, 201)
    steady_history(api, JOB)
    payload_runs(api, JOB, "good", GOOD)
    payload_runs(api, JOB, "doubled", DOUBLED)
    good = job_verdict(api, "good")
    assert good["verdict"] == "pass" and good["disruption"]["verdict"] == "pass"
    assert good["disruption"]["policy"] == policy and good["disruption"]["runs"] == 10
    bad = job_verdict(api, "doubled")
    assert bad["verdict"] == "fail" and bad["disruption"]["blocking"] is True
    deciding = bad["disruption"]["policies"][0]
    assert deciding["policy"] == policy and deciding["verdict"] == "fail"
    failed = [c for c in deciding["checks"] if c["status"] == "fail"]
    assert failed and {c["key"]["name"] for c in failed} == {BACKEND}
    assert {r["seconds"] for r in failed[0]["runs"]} == set(DOUBLED)
    assert "disruption check(s) failed" in bad["reason"]
    history = bad["disruption"]["history"][0]
    assert history["job"] == JOB and history["runs"] == 40


def test_inform_reports_without_failing_and_off_leaves_no_section(api: ApiClient) -> None:
    steady_history(api, JOB)
    payload_runs(api, JOB, "doubled", DOUBLED)
    api.put(job_path(JOB), json={"settings": {"disruption": "inform"}})
    informed = job_verdict(api, "doubled")
    assert informed["verdict"] == "pass" and informed["disruption"]["verdict"] == "fail"
    assert informed["disruption"]["blocking"] is False
    api.put(job_path(JOB), json={"settings": {"disruption": "off"}})
    assert job_verdict(api, "doubled")["disruption"] is None


def test_a_job_without_measurements_has_no_section(api: ApiClient) -> None:
    api.put(f"{job_path('plain')}/runs/r1", json={"payload": "p", "status": "success",
                                                  "tests": []})
    assert job_verdict(api, "p")["disruption"] is None


def test_markdown_shows_the_section_escaped(api: ApiClient) -> None:
    steady_history(api, JOB, runs=20)
    payload_runs(api, JOB, "doubled", DOUBLED)
    text = api.get("/payloads/doubled/verdict?format=markdown").get_data(as_text=True)
    assert "### Disruption and alerts" in text
    assert "kube\\-api" not in text and BACKEND in text  # names as written, escaped where needed
    assert "seconds should not be worse" in text or "mean + 5 stddev" in text


def test_settings_are_validated() -> None:
    assert JobSettings.parse({"disruption": "inform"}).disruption == "inform"
    with pytest.raises(InvalidInput) as caught:
        JobSettings.parse({"disruption": "maybe", "disruption_policy": "oracle"})
    assert set(caught.value.details["settings"]) == {"disruption", "disruption_policy"}


def test_turning_disruption_off_is_admin_only_and_audited(api: ApiClient,
                                                          tokens: dict[str, str]) -> None:
    body = {"settings": {"disruption": "off"}}
    assert api.as_token(tokens["write"]).put(job_path(JOB), json=body).status_code == 403
    assert api.put(job_path(JOB), json=body).status_code in (200, 201)
    entries = api.get(f"{job_path(JOB)}/audit?limit=10").json["items"]
    assert any(e["action"] == "settings" and e["field"] == "disruption" and e["new"] == "off"
               for e in entries), entries
