"""No silent pass: a job without a usable baseline warns (JSON, Markdown), the fail-safe floor
still blocks a test failing every one of >= 3 runs, and ``require_baseline`` fails the job."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from api.services import verdict_markdown
from api.services.verdicts import VerdictWarning
from tests.api.history import build_history, job_path, names_of_tests, put_run
from tests.api.test_markdown_safety import HOSTILE, MD, as_read, check, text_of
from tests.api.test_markdown_safety import verdict as markdown_verdict
from tests.api.test_verdicts import JOB, PAYLOAD, register, verdict
from tests.conftest import ApiClient


def failing_runs(api: ApiClient, count: int, broken: list[str]) -> None:
    for index in range(count):
        outcomes = {name: "failed" if name in broken else "passed"
                    for name in names_of_tests(20)}
        put_run(api, JOB, f"p{index}", payload=PAYLOAD, outcomes=outcomes, status="failure")


def test_the_issue_case_passes_but_says_it_has_no_baseline(api: ApiClient) -> None:
    register(api, 10, deadline_in=-timedelta(minutes=1))
    failing_runs(api, 1, names_of_tests(6))
    body = verdict(api)
    assert body["verdict"] == "pass"  # 1 run: below the floor, so only the warning remains
    job = body["jobs"][0]
    assert job["baseline"] is None
    [warning] = job["warnings"]
    assert warning["code"] == "no_baseline" and warning["job"] == JOB
    assert JOB in warning["message"] and "baselines" in warning["message"]
    assert body["warnings"] == job["warnings"]


@pytest.mark.parametrize("policy", ["bayes", "aggregator", "stddev"])
def test_a_test_failing_every_run_blocks_without_a_baseline(api: ApiClient,
                                                            policy: str) -> None:
    assert api.put(job_path(JOB), json={"settings": {"false_block_budget": 1e-9, "z": 10,
                                                    "min_attempts": 1}}).status_code == 201
    register(api, 3)
    failing_runs(api, 3, ["test-004"])
    body = verdict(api, f"?policy={policy}")
    assert body["verdict"] == "fail", body
    job = body["jobs"][0]
    assert [r["test"] for r in job["regressions"]] == ["test-004"]
    assert [w["code"] for w in job["warnings"]] == ["no_baseline"]


def test_require_baseline_fails_the_job_and_says_why(api: ApiClient) -> None:
    assert api.put(job_path(JOB), json={"settings": {"require_baseline": True}}).status_code \
        == 201
    register(api, 2)
    failing_runs(api, 2, [])
    body = verdict(api)
    assert body["verdict"] == "fail"
    assert "require_baseline" in body["jobs"][0]["reason"]
    assert [w["code"] for w in body["warnings"]] == ["no_baseline"]


def test_pending_stays_pending_with_the_warning(api: ApiClient) -> None:
    api.put(job_path(JOB), json={"settings": {"require_baseline": True}})
    register(api, 3)
    failing_runs(api, 1, [])
    body = verdict(api)
    assert body["verdict"] == "pending" and body["warnings"][0]["code"] == "no_baseline"


def test_a_baseline_clears_the_warning_and_require_baseline(api: ApiClient) -> None:
    build_history(api, JOB, tests=20)
    api.put(job_path(JOB), json={"settings": {"require_baseline": True}})
    register(api, 2)
    failing_runs(api, 2, [])
    body = verdict(api)
    assert body["verdict"] == "pass"
    assert body["warnings"] == [] and body["jobs"][0]["warnings"] == []


def test_the_markdown_shows_the_warning_escaped(api: ApiClient) -> None:
    hostile = "e2e <b>x</b> @octocat"
    put_run(api, hostile, "r1", payload=PAYLOAD, outcomes={"t": "passed"})
    response = api.get(f"/payloads/{PAYLOAD}/verdict?format=markdown")
    text = response.get_data(as_text=True)
    [line] = [line for line in text.splitlines() if "Warning" in line]
    assert "no\\_baseline" in line or "no_baseline" in line
    assert "<b>" not in line and "@octocat" not in line


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_job_names_in_warnings_render_as_themselves(hostile: str) -> None:
    base = markdown_verdict("rc1", [(hostile, "r", ["t"])])
    warning = VerdictWarning(code="no_baseline", job=hostile, message=f"job {hostile!r} has none")
    check(dataclasses.replace(base, warnings=(warning,)))
    rendered = verdict_markdown.render(dataclasses.replace(base, warnings=(warning,)))
    [paragraph] = [t for t in MD.parse(rendered)
                   if t.type == "inline" and t.content.startswith("⚠️")]
    assert as_read(f"job {hostile!r} has none") in text_of(paragraph)
