"""The job and test pages without a browser (data through the API, pages through a signed-in
client): the content is there, user text is escaped, bad URLs are pages in the error shape."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask

from api.pages_urls import job_page, page_for_test
from api.services.test_page import tallies
from api.store.page_reads import TestOutcome
from tests.api.history import build_history
from tests.conftest import ADMIN_TOKEN, ApiClient
from tests.ui.frame_helpers import page_app, sign_in

JOB = "e2e <b>aws</b> / ovn"
NASTY = '<script>alert("x")</script> [sig-net] should work'


def setup(database_url: str) -> tuple[Flask, ApiClient]:
    app = page_app(database_url)
    api = ApiClient(app, ADMIN_TOKEN)
    build_history(api, JOB, runs=12, tests=4, flaky={"test-002": 3})
    for i in range(3):
        response = api.put(f"/jobs/{quote(JOB, safe='')}/runs/n{i}", json={
            "payload": "p<i>new</i>", "status": "failure", "url": "javascript:alert(1)",
            "tests": [{"name": NASTY, "suite": "e2e", "status": "failed",
                       "message": f"timeout after {30 + i}s waiting for pod-{i}\nstack"}]})
        assert response.status_code == 201
    return app, api


def html_of(app: Flask, path: str) -> tuple[int, str]:
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    answer = client.get(path)
    return answer.status_code, answer.get_data(as_text=True)


def test_the_job_page_shows_runs_least_stable_tests_baselines_and_settings(
        database_url: str) -> None:
    app, _ = setup(database_url)
    status, html = html_of(app, job_page(JOB))
    assert status == 200
    assert "Job e2e &lt;b&gt;aws&lt;/b&gt; / ovn" in html and "<b>aws</b>" not in html
    assert 'data-chart="runs-by-day"' in html
    assert "p&lt;i&gt;new&lt;/i&gt;" in html
    # The least stable test first, linked to its page.
    assert html.index("test-002") < html.index("test-000")
    assert page_for_test(JOB, "e2e", "test-002").replace("&", "&amp;") in html
    assert "v1" in html and "compute" in html  # the version and its audit entry
    assert "false_block_budget" in html and "require_baseline" in html
    # A stored CI URL that is not http(s) is shown as text, never as a link.
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html


def test_the_test_page_shows_outcomes_pass_rate_and_grouped_messages(
        database_url: str) -> None:
    app, _ = setup(database_url)
    status, html = html_of(app, page_for_test(JOB, "e2e", NASTY))
    assert status == 200
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)" in html
    assert 'data-chart="pass-rate"' in html
    # Three messages that differ in numbers only are one group of three.
    assert "3 \u00d7 <code>timeout after &lt;duration&gt; waiting for pod-&lt;n&gt;</code>" in html
    assert "0.0%" in html  # failed every counted run


def test_unknown_jobs_and_keys_are_404_pages(database_url: str) -> None:
    app, _ = setup(database_url)
    for path in (job_page("nope"), page_for_test(JOB, "e2e", "never ran"),
                 f"{job_page(JOB)}/tests/{quote('../x', safe='')}"):
        status, html = html_of(app, path)
        assert status == 404 and "<!doctype html>" in html, path
    status, _ = html_of(app, f"{job_page(JOB)}?cursor=garbage")
    assert status == 400


def test_tallies_count_evidence_runs_only() -> None:
    from datetime import UTC, datetime

    from api.domain import RunStatus, TestStatus

    def outcome(run: str, day: int, status: TestStatus, run_status: RunStatus,
                payload: str | None = "p") -> TestOutcome:
        return TestOutcome(run_id=run, payload=payload, run_status=run_status,
                           created_at=datetime(2026, 11, day, tzinfo=UTC), status=status,
                           duration_s=None, message=None)

    outcomes = [outcome("5", 3, TestStatus.FAILED, RunStatus.ERROR),
                outcome("4", 3, TestStatus.FLAKED, RunStatus.SUCCESS, "q"),
                outcome("3", 2, TestStatus.SKIPPED, RunStatus.SUCCESS),
                outcome("2", 2, TestStatus.ERROR, RunStatus.FAILURE),
                outcome("1", 1, TestStatus.PASSED, RunStatus.SUCCESS, None)]
    overall, days, payloads = tallies(outcomes)
    assert (overall.passes, overall.failures, overall.flakes, overall.skips) == (2, 1, 1, 1)
    assert overall.pass_rate == 2 / 3
    assert [(d.label, d.pass_rate) for d in days] == [
        ("2026-11-01", 1.0), ("2026-11-02", 0.0), ("2026-11-03", 1.0)]
    assert [(p.label, p.passes, p.failures, p.skips) for p in payloads] == [
        ("q", 1, 0, 0), ("p", 0, 1, 1)]
