"""Failure causes over HTTP: a run's cause, a payload's failures, the verdict's excused runs,
and the unexplained clusters (patterns and matches written through the store, as a scan
would)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from api.failures.model import LineMatch, PatternSyntax
from api.services.failures import MIN_GENERIC_LOGS
from api.store import Store, open_store
from api.store.patterns import PatternDraft
from tests.api.history import NOW, build_history, job_path, names_of_tests, put_run
from tests.conftest import ApiClient

JOB = "e2e (aws)/ovn"
PAYLOAD = "4.19.0-0.nightly-2026-11-20-101010"
MIRROR = "E: Failed to fetch http://mirror/pool/curl.deb  Temporary failure resolving 'mirror'"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


def pattern(store: Store, expression: str, *tags: str, specificity: int = 2) -> int:
    draft = PatternDraft(expression=expression, syntax=PatternSyntax.LITERAL, tags=tags,
                         specificity=specificity)
    return store.patterns.create_pattern(draft, actor="test").id


def matched(store: Store, job: str, run_id: str, pattern_id: int, line: int, text: str,
            step: str = "build") -> None:
    """Record what a scan of the run's ``step`` log would: ``pattern_id`` matched ``line``."""
    version = store.patterns.patterns_by_ids([pattern_id])[pattern_id].version
    store.patterns.replace_matches(job, run_id, step, {pattern_id: version},
                                   [LineMatch(pattern_id, version, line, 0, len(text), text)])


def payload_runs(api: ApiClient, *, failed: int, passed: int) -> None:
    """``failed`` runs where test-007 fails (status failure), then ``passed`` clean runs."""
    for index in range(failed + passed):
        outcomes = dict.fromkeys(names_of_tests(30), "passed")
        if index < failed:
            outcomes["test-007"] = "failed"
        put_run(api, JOB, f"p{index}", payload=PAYLOAD, outcomes=outcomes,
                status="failure" if index < failed else "success")


def verdict(api: ApiClient, query: str = "") -> dict:
    response = api.get(f"/payloads/{PAYLOAD}/verdict{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_an_infra_cause_excuses_failed_runs_and_changes_the_verdict(
        api: ApiClient, store: Store) -> None:
    build_history(api, JOB)
    payload_runs(api, failed=3, passed=3)
    before = api.get(f"/payloads/{PAYLOAD}/verdict")
    job = before.json["jobs"][0]
    assert before.json["verdict"] == "fail" and job["runs"]["counted"] == 6
    assert [r["test"] for r in job["regressions"]] == ["test-007"]
    # Unexplained, and the job also passed on the payload: empirically flaky, not excused.
    assert job["failures"]["summary"] == "3/3 flaky" and job["failures"]["excused"] == []

    infra = pattern(store, "Temporary failure resolving", "infra", "network")
    for run in ("p0", "p1", "p2"):
        matched(store, JOB, run, infra, 120, MIRROR)
    after = api.get(f"/payloads/{PAYLOAD}/verdict")
    assert after.headers["ETag"] != before.headers["ETag"]
    job = after.json["jobs"][0]
    assert after.json["verdict"] == "pass"
    assert job["runs"] == {"expected": 6, "finished": 6, "counted": 3, "pending": 0}
    assert job["regressions"] == [] and job["notes"]["excused"] == 3
    assert job["failures"]["summary"] == "3/3 infra"
    assert job["failures"]["excused"] == ["p0", "p1", "p2"]
    assert "3 failed run(s) excused" in job["reason"] and "p1 (infra)" in job["reason"]
    cause = job["failures"]["runs"][0]
    assert cause["decisive"] == {"pattern_id": infra, "pattern_version": 1, "step": "build",
                                 "line": 120, "start": 0, "end": len(MIRROR), "text": MIRROR}

    # Excusing nothing puts the failed runs back into the evidence.
    assert api.put(job_path(JOB), json={"settings": {"excuse": []}}).status_code == 200
    again = verdict(api)
    assert again["verdict"] == "fail" and again["jobs"][0]["runs"]["counted"] == 6
    assert again["jobs"][0]["failures"]["excused"] == []


def test_every_failed_run_excused_leaves_no_evidence(api: ApiClient, store: Store) -> None:
    build_history(api, JOB)
    payload_runs(api, failed=2, passed=0)
    infra = pattern(store, "Temporary failure resolving", "infra")
    for run in ("p0", "p1"):
        matched(store, JOB, run, infra, 3, MIRROR)
    job = verdict(api)["jobs"][0]
    assert job["verdict"] == "fail" and job["runs"]["counted"] == 0
    assert "(0 ended in error or were aborted, 2 excused)" in job["reason"]
    assert "2 failed run(s) excused" in job["reason"]


def test_a_runs_cause_and_the_payloads_failures(api: ApiClient, store: Store) -> None:
    for index, status in enumerate(["failure"] * 4 + ["success"]):
        put_run(api, "unit", f"u{index}", payload=PAYLOAD, status=status,
                outcomes={"t": "failed" if status == "failure" else "passed"})
    put_run(api, "lint", "l0", payload=PAYLOAD, status="failure", outcomes={"t": "failed"})
    flaky = pattern(store, "connection reset by peer", "flaky", specificity=3)
    generic = pattern(store, "exit code 1", specificity=1)
    broken = pattern(store, "undefined: Reconcile")
    matched(store, "unit", "u0", flaky, 50, "read: connection reset by peer")
    matched(store, "unit", "u1", broken, 12, "pkg/x.go:3: undefined: Reconcile")
    matched(store, "lint", "l0", generic, 9, "exit code 1")
    made = api.post("/breakages", json={"cause": "commit 1a2b", "jobs": ["unit"],
                                        "pattern_id": broken})
    assert made.status_code == 201

    run = api.get("/jobs/unit/runs/u1").json
    assert run["failure_cause"]["class"] == "known"
    assert run["failure_cause"]["breakage_id"] == made.json["id"]
    assert run["failure_cause"]["decisive"]["text"] == "pkg/x.go:3: undefined: Reconcile"
    assert api.get("/jobs/unit/runs/u4").json["failure_cause"] is None

    body = api.get(f"/payloads/{PAYLOAD}/failures").json
    by_job = {job["job"]: job for job in body["jobs"]}
    # unit passed on the payload too: its unmatched failures are empirically flaky.
    assert by_job["unit"]["counts"] == {"flaky": 3, "infra": 0, "known": 1, "new": 0}
    assert by_job["unit"]["summary"] == "3/4 flaky, 1/4 known"
    assert by_job["lint"]["summary"] == "1/1 new"
    assert by_job["lint"]["runs"][0]["decisive"]["text"] == "exit code 1"
    assert body["summary"] == "3/5 flaky, 1/5 known, 1/5 new"
    assert api.get("/payloads/nothing-here/failures").status_code == 404


def test_the_unexplained_failures_are_clustered(api: ApiClient, store: Store) -> None:
    for index in range(3):
        put_run(api, "unit", f"n{index}", payload=f"pl{index}", status="failure",
                outcomes={"t": "failed"}, started=NOW - timedelta(hours=index + 1))
        store.logs.put_log("unit", f"n{index}", "test",
                           f"ok\nKeyError: 'release-4.{index}-deadbeef{index}'\ndone\n")
    put_run(api, "unit", "m0", payload="pl9", status="failure", outcomes={"t": "failed"})
    untagged = pattern(store, "segfault")
    matched(store, "unit", "m0", untagged, 4, "segfault at 0x7ffd1234 in worker 3")
    put_run(api, "unit", "q0", payload="pl8", status="failure", outcomes={"t": "failed"})

    body = api.get("/failures/unexplained?job=unit").json
    assert (body["failed"], body["new"], body["without_line"]) == (5, 5, 1)
    assert [(c["normal"], c["count"]) for c in body["clusters"]] == [
        ("KeyError: 'release-<n>-<hex>'", 3), ("segfault at <hex> in worker <n>", 1)]
    example = body["clusters"][0]["examples"][0]
    assert (example["step"], example["line"]) == ("test", 2)
    old = (NOW - timedelta(minutes=90)).isoformat().replace("+00:00", "Z")
    assert api.get(f"/failures/unexplained?job=unit&since={old}").json["failed"] == 3
    assert api.get("/failures/unexplained?limit=10001").status_code == 422


def test_the_markdown_verdict_shows_the_summary_line_escaped(api: ApiClient,
                                                             store: Store) -> None:
    build_history(api, JOB)
    put_run(api, JOB, "<b>x</b>|", payload=PAYLOAD, status="failure",
            outcomes={"test-001": "passed"})
    infra = pattern(store, "Temporary failure resolving", "infra")
    matched(store, JOB, "<b>x</b>|", infra, 3, MIRROR)
    text = api.get(f"/payloads/{PAYLOAD}/verdict?format=markdown").get_data(as_text=True)
    assert "### Why runs failed" in text and "1/1 infra" in text
    assert "<b>x</b>" not in text


def test_the_excuse_setting_is_validated_and_admin_only(api: ApiClient,
                                                        tokens: dict[str, str]) -> None:
    put_run(api, "unit", "r0", payload=PAYLOAD, outcomes={"t": "passed"})
    assert api.put("/jobs/unit", json={"settings": {"excuse": "infra"}}).status_code == 422
    assert api.put("/jobs/unit", json={"settings": {"excuse": [""]}}).status_code == 422
    writer = api.as_token(tokens["write"])
    assert writer.put("/jobs/unit", json={"settings": {"excuse": []}}).status_code == 403
    assert api.put("/jobs/unit", json={"settings": {"excuse": ["Network"]}}).status_code == 200


def test_a_pattern_flagged_too_generic_decides_only_once_promoted(api: ApiClient,
                                                                  store: Store) -> None:
    """Generic over at least MIN_GENERIC_LOGS scanned failed logs: it never decides; over a
    handful it still does (a young history's one cause is not silenced); promoted, always."""
    generic = pattern(store, "Process completed with exit code 1.", "flaky")
    specific = pattern(store, "AssertionError", specificity=1)
    for index in range(MIN_GENERIC_LOGS):
        put_run(api, "unit", f"g{index}", payload=f"gp{index}", status="failure",
                outcomes={"t": "failed"})
        matched(store, "unit", f"g{index}", generic, 90, "Process completed with exit code 1.")
    matched(store, "unit", "g0", specific, 80, "AssertionError: 3 != 4")  # beside the generic

    def cause(run_id: str) -> dict:
        return api.get(f"/jobs/unit/runs/{run_id}").json["failure_cause"]

    assert cause("g1")["class"] == "new" and cause("g1")["decisive"] is None
    assert cause("g0")["decisive"]["text"] == "AssertionError: 3 != 4"
    assert api.request("PATCH", f"/patterns/{generic}", json={"promoted": True}).status_code \
        == 200
    assert cause("g1")["class"] == "flaky"


def test_a_common_pattern_over_few_logs_still_decides(api: ApiClient, store: Store) -> None:
    infra = pattern(store, "Temporary failure resolving", "infra")
    for index in range(3):
        put_run(api, "unit", f"f{index}", payload=f"fp{index}", status="failure",
                outcomes={"t": "failed"})
        matched(store, "unit", f"f{index}", infra, 3, MIRROR)
    assert api.get("/jobs/unit/runs/f1").json["failure_cause"]["class"] == "infra"


def test_latest_in_the_log_orders_steps_as_their_logs_were_stored(api: ApiClient,
                                                                   store: Store) -> None:
    put_run(api, "unit", "s0", payload="sp", status="failure", outcomes={"t": "failed"})
    # "zz-setup" ran first, "build" after it: alphabetical order would say the opposite.
    store.logs.put_log("unit", "s0", "zz-setup", "warning: mirror slow\n")
    store.logs.put_log("unit", "s0", "build", "x\nundefined: Reconcile\n")
    infra = pattern(store, "mirror slow", "infra")
    bug = pattern(store, "undefined: Reconcile")
    matched(store, "unit", "s0", infra, 1, "warning: mirror slow", step="zz-setup")
    matched(store, "unit", "s0", bug, 2, "undefined: Reconcile", step="build")
    cause = api.get("/jobs/unit/runs/s0").json["failure_cause"]
    assert cause["class"] == "new" and cause["decisive"]["step"] == "build"
