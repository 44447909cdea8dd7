"""The client against a real flakegate server under gunicorn."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.auth import hash_token, new_token
from api.domain import Scope
from api.store import open_store
from client import errors
from client.api import Client
from tests.client.conftest import junit_xml, quick_backoff, write_junit
from tests.live_server import LiveServer

NAMES = ["e2e (aws) [serial]", "a/b/c", "..", ".", "100%", "ü?#&=+", "x%2Fy", " lead space"]


def mint(live: LiveServer, scope: Scope) -> str:
    store = open_store(live.database_url)
    try:
        token = new_token()
        store.add_token(hash_token(token), scope, f"client-tests-{scope.value}")
    finally:
        store.close()
    return token


@pytest.mark.parametrize("name", NAMES)
def test_any_text_round_trips_as_job_run_and_payload(client: Client, name: str) -> None:
    job = client.put_job(name, variant={"platform": "aws"}, expected_runs=3)
    assert (job.name, job.variant, job.expected_runs) == (name, {"platform": "aws"}, 3)
    assert client.get_job(name).name == name
    run = client.put_run(name, name, payload=name, status="success")
    assert (run.job, run.run_id, run.payload) == (name, name, name)
    assert client.get_run(name, name).run_id == name
    assert [r.run_id for r in client.list_runs(name, payload=name)] == [name]
    assert client.put_payload(name, expected={name: 2}).expected == {name: 2}


def test_put_run_then_read_it_back(client: Client, unique: str) -> None:
    started = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    run = client.put_run(unique, "1", payload="p1", status="failure", started_at=started,
                         finished_at=started.replace(hour=12), url="https://ci.example/1",
                         variant={"arch": "arm64"}, metadata={"shard": "1"},
                         tests=[{"name": "a", "status": "passed"},
                                {"name": "b", "status": "failed", "message": "boom"}])
    assert run.status == "failure" and run.finished
    assert run.counts.total == 2 and run.counts.failed == 1
    again = client.get_run(unique, "1")
    assert again.started_at == started and again.metadata == {"shard": "1"}
    assert again.variant == {"arch": "arm64"} and again.url == "https://ci.example/1"


def test_lists_walk_every_page(client: Client, unique: str) -> None:
    for index in range(7):
        client.put_run(unique, f"r{index}", payload="odd" if index % 2 else "even")
    runs = list(client.list_runs(unique, page_size=2))
    assert sorted(r.run_id for r in runs) == [f"r{i}" for i in range(7)]
    assert {r.run_id for r in client.list_runs(unique, payload="odd", page_size=1)} == \
        {"r1", "r3", "r5"}
    jobs = [job.name for job in client.list_jobs(page_size=3)]
    assert unique in jobs and len(jobs) == len(set(jobs))


def test_upload_batches_files_and_resending_is_a_no_op(client: Client, unique: str,
                                                       tmp_path: Path) -> None:
    client.put_run(unique, "1", payload="p")
    files = [write_junit(tmp_path, f"shard-{i}/junit.xml", [(f"t{i}-{j}", "passed")
                                                            for j in range(50)])
             for i in range(6)]
    (tmp_path / "pre.xml.gz").write_bytes(gzip.compress(junit_xml([("pre", "failed")])))
    files.append(tmp_path / "pre.xml.gz")
    progress: list[tuple[int, int]] = []
    result = client.upload_junit(unique, "1", files, max_bytes=1500, root=tmp_path,
                                 on_progress=lambda n, size: progress.append((n, size)))
    assert result.requests > 1 and result.added == 7 and result.tests == 301
    assert [n for n, _ in progress] == sorted(n for n, _ in progress) and progress[-1][0] == 7
    assert result.run is not None and result.run.counts.total == 301
    assert result.run.counts.failed == 1
    names = {f.name for f in client.get_run(unique, "1").files}
    assert names == {"pre.xml", *(f"shard-{i}/junit.xml" for i in range(6))}
    again = client.upload_junit(unique, "1", files)
    assert again.added == 0 and again.already_present == 7 and again.requests == 1


def test_upload_to_an_unknown_run_is_not_found(client: Client, unique: str) -> None:
    with pytest.raises(errors.NotFoundError) as caught:
        client.upload_junit(unique, "nope", [("junit.xml", junit_xml([("a", "passed")]))])
    assert caught.value.status == 404 and caught.value.code == "not_found"


def test_malformed_junit_is_a_bad_request_naming_the_file(client: Client, unique: str) -> None:
    client.put_run(unique, "1")
    broken = b'<?xml version="1.0"?>\n<testsuite name="x">\n<testcase name="t">\n</testsuite>'
    with pytest.raises(errors.BadRequest) as caught:
        client.upload_junit(unique, "1", [("good.xml", junit_xml([("a", "passed")])),
                                          ("broken.xml", broken)])
    assert "broken.xml" in caught.value.message


def test_invalid_fields_are_validation_failed_with_details(client: Client, unique: str) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        client.put_run(unique, "1", status="exploded")
    assert caught.value.status == 422 and "status" in caught.value.details
    assert "status" in caught.value.describe()


def test_unknown_things_are_not_found(client: Client, unique: str) -> None:
    with pytest.raises(errors.NotFoundError):
        client.get_job(unique)
    with pytest.raises(errors.NotFoundError):
        client.get_payload(unique)


def test_tokens_no_token_bad_token_and_scope(live: LiveServer, unique: str) -> None:
    with Client(live.url) as anonymous, pytest.raises(errors.AuthError) as caught:
        anonymous.get_job(unique)
    assert caught.value.status == 401
    with Client(live.url, "fg_wrong") as wrong, pytest.raises(errors.AuthError) as caught:
        list(wrong.list_jobs())
    assert caught.value.status == 401 and caught.value.code == "unauthorized"
    with Client(live.url, mint(live, Scope.READ), backoff=quick_backoff()) as reader:
        list(reader.list_jobs())
        with pytest.raises(errors.AuthError) as caught:
            reader.put_run(unique, "1")
    assert caught.value.status == 403 and caught.value.code == "forbidden"


def test_payload_registration_round_trips(client: Client, unique: str) -> None:
    deadline = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    saved = client.put_payload(unique, expected={"e2e": 10, "e2e-gcp": 3}, deadline=deadline)
    assert saved.expected == {"e2e": 10, "e2e-gcp": 3} and saved.deadline == deadline
    assert client.get_payload(unique).deadline == deadline


def test_a_server_that_went_away_is_connection_failed(tmp_path: Path) -> None:
    server = LiveServer(
        f"sqlite:///{tmp_path / 'gone.db'}", "fg_gone-long-enough-for-the-32-char-rule",
        workers=1).start()
    with Client(
        server.url, "fg_gone-long-enough-for-the-32-char-rule",
        retries=2, backoff=quick_backoff()) as client:
        client.put_run("j", "1")
        server.kill()
        with pytest.raises(errors.ConnectionFailed) as caught:
            client.get_run("j", "1")
    assert caught.value.attempts == 3
