"""What a person at the terminal meets (issue 10): announced retries under a deadline, a verdict
that waits out an unknown payload, a failed upload that does not block the payload, baselines
through the API, headed tables, JSON everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from client import errors, extras
from client.api import Client
from client.cli import main
from client.cli_support import UPLOAD_ERROR_KEY
from client.exit_status import ExitStatus
from client.retry import Backoff, RetryNotice
from client.table import plural, render_table
from tests.client.conftest import seed_history, verdict_body, write_junit
from tests.live_server import LiveServer
from tests.processes import free_port

BASE = "http://flakegate.test"
FLAKEGATE = Path(sys.executable).with_name("flakegate")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "PROW_JOB_ID", "JENKINS_URL",
                 "FLAKEGATE_URL", "FLAKEGATE_TOKEN", "FLAKEGATE_FAIL_OPEN", "FLAKEGATE_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLAKEGATE_RETRIES", "0")


@pytest.fixture
def server(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.setenv("FLAKEGATE_URL", live.url)
    monkeypatch.setenv("FLAKEGATE_TOKEN", live.admin_token)
    return live


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- text helpers ---------------------------------------------------------------------------


def test_plural() -> None:
    assert [plural(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == \
        "3 entries"


def test_table_has_a_header_and_aligned_columns() -> None:
    text = render_table(("NAME", "RUNS", "NOTE"), [("a", 5, None), ("long name", 120, "x\ny")],
                        right=("RUNS",))
    assert text.splitlines() == [
        "NAME       RUNS  NOTE",
        "a             5  -",
        "long name   120  x y",
    ]


# -- retries --------------------------------------------------------------------------------


def test_every_retry_is_announced_with_its_reason_and_wait(
        mocked: responses.RequestsMock) -> None:
    mocked.get(f"{BASE}/jobs/j", body=requests.ConnectionError("refused"))
    mocked.get(f"{BASE}/jobs/j", status=503, json={"error": {"code": "unavailable",
                                                             "message": "busy"}},
               headers={"Retry-After": "2"})
    mocked.get(f"{BASE}/jobs/j", json={"name": "j", "variant": {}, "settings": {},
                                       "created_at": "2026-11-20T10:00:00+00:00"})
    notices: list[RetryNotice] = []
    slept: list[float] = []
    with Client(BASE, retries=7, sleep=slept.append, on_retry=notices.append,
                backoff=Backoff(base=1.0)) as client:
        client.get_job("j")
    assert [(n.attempt, n.attempts) for n in notices] == [(2, 8), (3, 8)]
    assert notices[1].reason == "HTTP 503 unavailable" and notices[1].delay >= 2.0
    assert [n.delay for n in notices] == slept
    assert notices[1].describe().startswith("retrying in 2.")
    assert notices[1].describe().endswith("(attempt 3 of 8): HTTP 503 unavailable")


def test_no_retry_sleeps_past_the_deadline(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{BASE}/jobs/j", status=503, json={"error": {"code": "unavailable",
                                                             "message": "busy"}},
               headers={"Retry-After": "20"})
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with Client(BASE, retries=7, sleep=sleep, clock=lambda: now[0], deadline=30.0) as client, \
            pytest.raises(errors.ServerError):
        client.get_job("j")
    assert len(slept) == 1 and now[0] <= 30.0  # one 20 s wait fits, a second would not


def test_a_server_that_is_down_is_announced_and_bounded_by_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = subprocess.run([str(FLAKEGATE), "jobs", "--url", url, "--timeout", "3s",
                           "--retries", "20"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    elapsed = time.monotonic() - started
    assert done.returncode == ExitStatus.ERROR
    lines = done.stderr.splitlines()
    assert lines[0].startswith("flakegate: retrying in ") and \
        lines[0].endswith("(attempt 2 of 21): connection refused"), done.stderr
    assert "cannot reach the server" in lines[-1]
    assert elapsed < 3 + 2.5  # the deadline, the interpreter's start-up, a loaded machine


# -- verdict --wait of a payload nobody reported yet -------------------------------------------


def test_verdict_wait_on_an_unknown_payload_polls_then_exits_3(
        server: LiveServer, unique: str, capsys: pytest.CaptureFixture[str]) -> None:
    payload = unique.replace("/", "-") + "-never"
    assert main(["verdict", payload]) == ExitStatus.ERROR  # without --wait: still an error
    assert "HTTP 404" in capsys.readouterr().err
    assert main(["verdict", payload, "--wait", "--timeout", "1s", "--poll", "0.2s"]) == \
        ExitStatus.PENDING
    err = capsys.readouterr().err
    assert err.count("unknown to the server: no run has reported it yet") == 1
    assert f"payload {payload!r} is still unknown to the server" in err.splitlines()[-1]


def test_verdict_wait_picks_up_a_payload_whose_first_run_arrives(
        mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"{BASE}/payloads/p/verdict"
    mocked.get(url, status=404, json={"error": {"code": "not_found", "message": "no payload"}})
    mocked.get(url, json=verdict_body("pass", payload="p"))
    assert main(["verdict", "p", "--url", BASE, "--wait", "--poll", "0.05s"]) == ExitStatus.OK
    assert "payload p: PASS" in capsys.readouterr().out


# -- a failed upload does not block the payload ----------------------------------------------


def test_a_refused_file_records_the_run_as_error_and_the_payload_is_judged(
        server: LiveServer, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    payload = unique.replace("/", "-")
    write_junit(tmp_path, "good.xml", [("a", "passed")])
    (tmp_path / "bad.xml").write_text('<testsuite><testcase name="a"')
    assert main(["run", "start", "--job", unique, "--run-id", "2", "--payload", payload]) == 0
    capsys.readouterr()
    assert main(["upload", "good.xml", "bad.xml", "--job", unique, "--run-id", "1",
                 "--payload", payload, "--status", "success"]) == ExitStatus.ERROR
    err = capsys.readouterr().err
    assert "recorded as error" in err and "HTTP 400 invalid_junit" in err
    with Client(server.url, server.admin_token) as client:
        run = client.get_run(unique, "1")
        assert run.status == "error" and run.finished_at is not None
        assert run.metadata[UPLOAD_ERROR_KEY].startswith("HTTP 400 invalid_junit: bad.xml")
        assert client.get_verdict(payload).pending  # run 2 is still pending, on purpose
        assert main(["run", "finish", "--job", unique, "--run-id", "2", "--status",
                     "success"]) == 0
        judged = client.get_verdict(payload)
    assert not judged.pending  # the broken upload does not hold the payload


def test_keep_pending_leaves_the_run_pending(
        server: LiveServer, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.xml").write_text("<testsuite>")
    assert main(["upload", "bad.xml", "--job", unique, "--run-id", "1", "--status",
                 "success", "--keep-pending"]) == ExitStatus.ERROR
    assert "recorded as error" not in capsys.readouterr().err
    with Client(server.url, server.admin_token) as client:
        assert client.get_run(unique, "1").status == "pending"


def test_an_unreadable_file_records_the_run_as_error(
        server: LiveServer, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_junit(tmp_path, "junit.xml", [("a", "passed")])
    real_read = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path.name == "junit.xml":
            raise PermissionError(13, "Permission denied")
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert main(["upload", "junit.xml", "--job", unique, "--run-id", "1"]) == ExitStatus.ERROR
    assert "cannot read" in capsys.readouterr().err
    with Client(server.url, server.admin_token) as client:
        run = client.get_run(unique, "1")
    assert run.status == "error" and "Permission denied" in run.metadata[UPLOAD_ERROR_KEY]


def test_upload_says_1_file(server: LiveServer, unique: str, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_junit(tmp_path, "junit.xml", [("a", "passed")])
    assert main(["upload", "junit.xml", "--job", unique, "--run-id", "1", "--format",
                 "text"]) == 0
    out = capsys.readouterr().out
    assert ": 1 file (1 new, 0 already there), 1 test, 1 request," in out


# -- baselines through the API ----------------------------------------------------------------


def test_baseline_compute_and_show_through_the_api(
        server: LiveServer, unique: str, capsys: pytest.CaptureFixture[str]) -> None:
    with Client(server.url, server.admin_token) as client:
        seed_history(client, unique, runs=3)
    assert main(["baseline", "compute", unique, "--format", "text"]) == 0
    assert capsys.readouterr().out.startswith(
        f"{unique}: baseline v2 from 3 runs, 5 tests, prior Beta(")
    assert main(["baseline", "compute", unique, "--json"]) == 0
    computed = json.loads(capsys.readouterr().out)
    assert computed["job"] == unique and computed["version"] == 3 and computed["runs"] == 3
    assert main(["baseline", "show", unique, "--format", "text", "--top", "2"]) == 0
    head, header, *rows = capsys.readouterr().out.splitlines()
    assert head.startswith(f"{unique} baseline v3: 3 runs, 5 tests, window ")
    assert header.split() == ["PASS", "RATE", "RUNS", "FLAKES", "TEST"]
    assert len(rows) == 2 and all(row.split()[:3] == ["100.00%", "3", "0"] for row in rows)
    assert main(["baseline", "show", unique, "--json", "--version", "2", "--top", "0"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["baseline"]["version"] == 2 and len(shown["tests"]) == 5


def test_baseline_show_through_the_api_without_the_server_extra(
        server: LiveServer, unique: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with Client(server.url, server.admin_token) as client:
        seed_history(client, unique, runs=2)
    monkeypatch.setattr(extras, "missing", lambda extra: ["numpy"] if extra == "server" else [])
    monkeypatch.delenv("FLAKEGATE_URL")
    assert main(["baseline", "show", unique, "--url", server.url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["baseline"]["runs"] == 2
