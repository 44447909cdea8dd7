"""A run left pending past its job's ``run_timeout`` counts as an error, so a lost upload
cannot hold a payload's verdict pending forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.domain import JobSpec, Payload, RunSpec, RunStatus, TestResult, TestStatus
from api.services import verdicts
from api.services.errors import InvalidInput
from api.services.job_settings import JobSettings
from api.store import Store, open_store
from tests.conftest import ApiClient

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(f"sqlite://{tmp_path / 'stale.db'}")
    opened.migrate()
    return opened


def two_runs_one_pending(store: Store, started_ago: timedelta) -> None:
    store.put_payload(Payload(id="p", expected={"j": 2}))
    store.put_run(RunSpec(job="j", run_id="done", status=RunStatus.SUCCESS, payload="p",
                          started_at=NOW - timedelta(hours=14)),
                  [TestResult("t", "s", TestStatus.PASSED)])
    store.put_run(RunSpec(job="j", run_id="lost", status=RunStatus.PENDING, payload="p",
                          started_at=NOW - started_ago))


def test_a_run_pending_past_the_default_timeout_counts_as_error(store: Store) -> None:
    two_runs_one_pending(store, timedelta(hours=13))
    result = verdicts.judge_payload(store, "p", now=NOW)
    (job,) = result.jobs
    assert result.verdict == job.verdict == "pass"
    assert job.notes["stale_pending"] == 1
    assert (job.runs.finished, job.runs.counted, job.runs.pending) == (2, 1, 0)
    assert "1 run(s) still pending after the job's run_timeout (12h) counted as error" \
        in job.reason


def test_a_run_pending_within_the_timeout_keeps_the_job_pending(store: Store) -> None:
    two_runs_one_pending(store, timedelta(hours=11))
    (job,) = verdicts.judge_payload(store, "p", now=NOW).jobs
    assert job.verdict == "pending" and "stale_pending" not in job.notes
    assert job.reason == "1 of 2 expected runs finished"


def test_the_timeout_is_the_jobs_setting_and_moves_the_etag(store: Store) -> None:
    two_runs_one_pending(store, timedelta(hours=3))
    early = verdicts.prepare(store, "p", now=NOW)
    store.put_job(JobSpec(name="j", settings={"run_timeout": "2h"}))
    late = verdicts.prepare(store, "p", now=NOW)
    assert early.etag != late.etag
    (job,) = verdicts.judge(store, late).jobs
    assert job.verdict == "pass" and job.notes["stale_pending"] == 1
    assert "(2h)" in job.reason


def test_only_stale_runs_and_no_evidence_fail_with_the_note(store: Store) -> None:
    store.put_run(RunSpec(job="j", run_id="lost", status=RunStatus.PENDING, payload="p",
                          started_at=NOW - timedelta(days=2)))
    (job,) = verdicts.judge_payload(store, "p", now=NOW).jobs
    assert job.verdict == "fail" and job.notes == {"stale_pending": 1}
    assert "counted as error" in job.reason


@pytest.mark.parametrize("value", ["12h", "90m", "1m", "30d", "1h30m"])
def test_run_timeout_accepts_durations(value: str) -> None:
    assert JobSettings.parse({"run_timeout": value}).run_timeout == value


@pytest.mark.parametrize("value", ["59s", "31d", "soon", "", "3600", "12H", 3600, None, True])
def test_run_timeout_refuses_the_rest(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        JobSettings.parse({"run_timeout": value})
    assert "run_timeout" in caught.value.details["settings"]


def test_run_timeout_over_http(api: ApiClient) -> None:
    assert api.put("/jobs/j", json={"settings": {"run_timeout": "6h"}}).status_code == 201
    assert api.get("/jobs/j").json["settings"] == {"run_timeout": "6h"}
    refused = api.put("/jobs/j", json={"settings": {"run_timeout": "forever"}})
    assert refused.status_code == 422
