"""Queued deliveries worked off against the GitHub double: runs recorded, failed jobs' logs
fetched once, artifacts attached, bad events dead, GitHub's refusals retried."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app
from api.config import load_config
from api.domain import RunStatus
from api.github.client import client_from_config
from api.hooks.publish_trigger import DELIVERY, PUBLISH
from api.serving.work_schedule import WorkSchedule
from api.store import Store, open_store
from api.store.work import WorkState
from tests.conftest import junit_xml
from tests.github_deliveries import Delivery, workflow_job_completed, workflow_run_completed
from tests.github_double import GitHubDouble
from tests.hooks.test_artifacts import patched_central
from tests.hooks.test_artifacts import zipped as deflated

SECRET = "hook-secret"
REPO = "octo/repo"
SHA = "c" * 40
LOG = (b"2026-12-01T10:00:00Z step\nE   AssertionError: expected 3 got 4\n"
       b"Error: Process completed with exit code 1.\n")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


@pytest.fixture
def config(database_url: str, github_double: GitHubDouble) -> dict[str, Any]:
    return load_config({"DATABASE": database_url, "GITHUB_WEBHOOK_SECRET": SECRET,
                        "GITHUB_TOKEN": github_double.token,
                        "GITHUB_API_URL": github_double.api_url, "GITHUB_MAX_WAIT": 5},
                       environ={})


@pytest.fixture
def hook_app(config: dict[str, Any]) -> Flask:
    return create_app(config)


@pytest.fixture
def schedule(config: dict[str, Any]) -> WorkSchedule:
    return WorkSchedule(config["DATABASE"], 1.0, config, github=client_from_config(config))


def post(app: Flask, delivery: Delivery) -> int:
    answer = app.test_client().post("/hooks/github", data=delivery.body,
                                    headers={**delivery.headers,
                                             "Content-Type": "application/json"})
    return answer.status_code


def job_delivery(double: GitHubDouble, job_id: int, name: str, conclusion: str,
                 log: bytes | None = None, run_id: int = 500) -> Delivery:
    double.state.add_job(REPO, run_id, job_id, name=name, head_sha=SHA, conclusion=conclusion,
                         log=log)
    return workflow_job_completed(secret=SECRET, repository=REPO, run_id=run_id, job_id=job_id,
                                  name=name, workflow_name="CI", head_sha=SHA,
                                  conclusion=conclusion)


def test_a_failed_job_is_recorded_with_its_log_once(
        hook_app: Flask, store: Store, schedule: WorkSchedule,
        github_double: GitHubDouble) -> None:
    delivery = job_delivery(github_double, 11, "unit", "failure", LOG)
    assert post(hook_app, delivery) == 202
    assert schedule.tick(store) == 1
    run = store.get_run(f"{REPO}/CI/unit", "500-1")
    assert run is not None and run.spec.status is RunStatus.FAILURE
    assert run.spec.payload == SHA and run.spec.metadata["repository"] == REPO
    stored = store.logs.get_log(f"{REPO}/CI/unit", "500-1", "unit")
    assert stored is not None and "AssertionError" in stored.text
    # GitHub redelivers: nothing is queued, nothing fetched again.
    assert post(hook_app, delivery) == 200
    assert schedule.tick(store) == 0
    assert len(github_double.calls("actions/download-job-logs-for-workflow-run")) == 1
    (item,) = store.work.list_work(kind=DELIVERY, limit=10).items
    assert item.state is WorkState.DONE
    # Publishing is configured: one publication of the payload is queued.
    assert [i.key for i in store.work.list_work(kind=PUBLISH, limit=10).items] == [SHA]


def test_a_successful_job_fetches_no_log(hook_app: Flask, store: Store,
                                         schedule: WorkSchedule,
                                         github_double: GitHubDouble) -> None:
    assert post(hook_app, job_delivery(github_double, 12, "lint", "success")) == 202
    schedule.tick(store)
    run = store.get_run(f"{REPO}/CI/lint", "500-1")
    assert run is not None and run.spec.status is RunStatus.SUCCESS
    assert github_double.calls("actions/download-job-logs-for-workflow-run") == []


def test_an_expired_log_still_records_the_run(hook_app: Flask, store: Store,
                                              schedule: WorkSchedule,
                                              github_double: GitHubDouble) -> None:
    assert post(hook_app, job_delivery(github_double, 13, "unit", "failure", log=None)) == 202
    schedule.tick(store)
    assert store.get_run(f"{REPO}/CI/unit", "500-1") is not None
    assert store.logs.list_logs(f"{REPO}/CI/unit", "500-1") == []
    (item,) = store.work.list_work(kind=DELIVERY, limit=10).items
    assert item.state is WorkState.DONE


def test_a_rate_limited_fetch_is_retried_later(hook_app: Flask, store: Store,
                                               config: dict[str, Any],
                                               github_double: GitHubDouble) -> None:
    impatient = WorkSchedule(config["DATABASE"], 1.0, {**config, "GITHUB_MAX_WAIT": 0},
                             github=client_from_config({**config, "GITHUB_MAX_WAIT": 0}))
    github_double.fail_next(1, status=429, retry_after=1,
                            operation_id="actions/download-job-logs-for-workflow-run")
    assert post(hook_app, job_delivery(github_double, 14, "unit", "failure", LOG)) == 202
    impatient.tick(store)
    (item,) = store.work.list_work(kind=DELIVERY, limit=10).items
    assert item.state is WorkState.QUEUED and item.attempts == 1 and item.error
    assert store.logs.list_logs(f"{REPO}/CI/unit", "500-1") == []
    claimed = store.work.claim("test", 30, kinds=(DELIVERY,))
    assert claimed is None  # not before its retry time


def test_an_unusable_delivery_is_dead_at_once(store: Store, schedule: WorkSchedule) -> None:
    store.work.enqueue(DELIVERY, "bad-1", json.dumps(
        {"event": "workflow_job", "payload": {"action": "completed",
                                              "repository": {"full_name": REPO},
                                              "workflow_job": {"id": 1}}}), once=True)
    schedule.tick(store)
    (item,) = store.work.list_work(kind=DELIVERY, limit=10).items
    assert item.state is WorkState.DEAD and "unusable" in (item.error or "")


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_completed_workflow_run_records_its_jobs_and_attaches_artifacts(
        hook_app: Flask, store: Store, schedule: WorkSchedule,
        github_double: GitHubDouble, tmp_path: Path) -> None:
    github_double.state.add_workflow_run(REPO, 600, head_sha=SHA)
    github_double.state.add_job(REPO, 600, 21, name="unit (3.12)", head_sha=SHA,
                                conclusion="failure", log=LOG)
    github_double.state.add_job(REPO, 600, 22, name="e2e", head_sha=SHA)
    github_double.state.add_artifact(REPO, 600, "unit (3.12)", zipped({
        "reports/junit.xml": junit_xml([("test_a", "passed"), ("test_b", "failed")]),
        "notes.txt": b"not ours"}))
    github_double.state.add_artifact(REPO, 600, "e2e", b"not a zip")
    github_double.state.add_artifact(REPO, 600, "coverage", zipped({"x.xml": b"<a/>"}))
    delivery = workflow_run_completed(secret=SECRET, repository=REPO, run_id=600, name="CI",
                                      head_sha=SHA)
    assert post(hook_app, delivery) == 202
    schedule.tick(store)
    (item,) = store.work.list_work(kind=DELIVERY, limit=10).items
    assert item.state is WorkState.DONE, item.error
    unit = store.get_run(f"{REPO}/CI/unit", "600-1")
    assert unit is not None and unit.spec.status is RunStatus.FAILURE
    assert unit.counts.total == 2 and unit.counts.failed == 1
    assert [f.name for f in unit.files] == ["reports/junit.xml"]
    assert store.logs.list_logs(f"{REPO}/CI/unit", "600-1")[0].step == "unit (3.12)"
    e2e = store.get_run(f"{REPO}/CI/e2e", "600-1")
    assert e2e is not None and e2e.counts.total == 0
    # the coverage artifact names no job of the run: never downloaded
    downloads = github_double.calls("actions/download-artifact")
    assert len(downloads) == 2


def test_unreadable_artifact_members_are_skipped_and_the_run_still_published(
        hook_app: Flask, store: Store, schedule: WorkSchedule,
        github_double: GitHubDouble) -> None:
    # A fork's pull request controls its artifacts: an encrypted member, a compression method
    # zipfile lacks or a corrupt deflate stream must not make the delivery a retried failure.
    github_double.state.add_pull(REPO, SHA, 8)
    github_double.state.add_workflow_run(REPO, 610, head_sha=SHA)
    github_double.state.add_job(REPO, 610, 41, name="unit", head_sha=SHA, conclusion="failure",
                                log=LOG)
    github_double.state.add_job(REPO, 610, 42, name="e2e", head_sha=SHA, conclusion="failure",
                                log=LOG)
    unit = zipped({"locked.xml": b"<testsuite/>", "packed.xml": b"<testsuite/>",
                   "reports/junit.xml": junit_xml([("test_a", "passed")])})
    unit = patched_central(unit, "locked.xml", 8, b"\x01\x00")  # the encrypted flag
    unit = patched_central(unit, "packed.xml", 10, b"\x62\x00")  # PPMd: not in zipfile
    e2e = deflated({"broken.xml": bytes(range(256)) * 40})
    start = e2e.index(b"broken.xml") + len("broken.xml")  # its compressed bytes follow
    e2e = e2e[:start] + b"\xff" * 16 + e2e[start + 16:]
    github_double.state.add_artifact(REPO, 610, "unit", unit)
    github_double.state.add_artifact(REPO, 610, "e2e", e2e)
    delivery = workflow_run_completed(secret=SECRET, repository=REPO, run_id=610, name="CI",
                                      head_sha=SHA)
    assert post(hook_app, delivery) == 202
    schedule.tick(store)
    (item,) = store.work.list_work(kind=DELIVERY, limit=10).items
    assert item.state is WorkState.DONE, item.error
    recorded = store.get_run(f"{REPO}/CI/unit", "610-1")
    assert recorded is not None and [f.name for f in recorded.files] == ["reports/junit.xml"]
    (publication,) = store.work.list_work(kind=PUBLISH, limit=10).items
    assert publication.key == SHA and publication.state is WorkState.QUEUED


# -- queued publications -----------------------------------------------------------------------

def test_a_delivery_leads_to_one_publication(hook_app: Flask, store: Store,
                                             schedule: WorkSchedule,
                                             github_double: GitHubDouble) -> None:
    github_double.state.add_pull(REPO, SHA, 7)
    assert post(hook_app, job_delivery(github_double, 31, "unit", "failure", LOG)) == 202
    schedule.tick(store)  # the delivery; the publication waits GITHUB_PUBLISH_DELAY
    (item,) = store.work.list_work(kind=PUBLISH, limit=10).items
    assert item.state is WorkState.QUEUED and item.key == SHA
    claimed = store.work.claim("test", 30, kinds=(PUBLISH,))
    assert claimed is None  # not due yet
    store.work.enqueue(PUBLISH, SHA, item.body, not_before=datetime.now(UTC))  # due now
    schedule.tick(store)
    done = store.work.get_work(item.id)
    assert done is not None and done.state is WorkState.DONE, done
    assert github_double.state.latest_status(REPO, SHA, "flakegate") is not None
    assert len(github_double.state.check_runs) == 1
    assert len(github_double.state.comments_on(REPO, 7)) == 1


def test_a_publication_github_refuses_waits_as_long_as_it_asked(
        store: Store, config: dict[str, Any], github_double: GitHubDouble,
        hook_app: Flask) -> None:
    impatient = {**config, "GITHUB_MAX_WAIT": 0}
    schedule = WorkSchedule(config["DATABASE"], 1.0, impatient,
                            github=client_from_config(impatient))
    assert post(hook_app, job_delivery(github_double, 32, "unit", "failure", LOG)) == 202
    schedule.tick(store)
    store.work.enqueue(PUBLISH, SHA, json.dumps({"payload": SHA}),
                       not_before=datetime.now(UTC))
    github_double.fail_next(5, status=403, retry_after=120,
                            operation_id="repos/create-commit-status")
    schedule.tick(store)
    (item,) = store.work.list_work(kind=PUBLISH, limit=10).items
    assert item.state is WorkState.QUEUED and item.attempts == 1 and item.error
    assert item.not_before >= datetime.now(UTC) + timedelta(seconds=100)


def test_publications_without_github_or_payload(store: Store, config: dict[str, Any]) -> None:
    offline = WorkSchedule(config["DATABASE"], 1.0, config, github=None)
    store.work.enqueue(PUBLISH, "p", json.dumps({"payload": "p"}))
    store.work.enqueue(PUBLISH, "q", "not json")
    offline.tick(store)
    states = {i.key: i.state for i in store.work.list_work(kind=PUBLISH, limit=10).items}
    assert states == {"p": WorkState.DONE, "q": WorkState.DEAD}
