"""The client subcommands of ``flakegate``: exit codes, output, flags, environment."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from responses import matchers

from client.cli import main
from client.commands import _Progress, _size
from client.exit_status import ExitStatus
from tests.client.conftest import verdict_body, write_junit
from tests.live_server import LiveServer
from tests.processes import free_port

BASE = "http://flakegate.test"
PAYLOAD = "4.19.0-0.nightly-2026-11-20-101010"
VERDICT_URL = f"{BASE}/payloads/{PAYLOAD}/verdict"
CI_VARIABLES = ("GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "PROW_JOB_ID", "JENKINS_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite itself may run in CI: its variables must not leak into what the CLI detects.
    for name in (*CI_VARIABLES, "FLAKEGATE_URL", "FLAKEGATE_TOKEN", "FLAKEGATE_RETRIES",
                 "FLAKEGATE_FAIL_OPEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLAKEGATE_RETRIES", "0")


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def verdict(*argv: str) -> int:
    return main(["verdict", PAYLOAD, "--url", BASE, *argv])


# -- exit codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "code"), [
    ("pass", ExitStatus.OK), ("fail", ExitStatus.REGRESSION), ("pending", ExitStatus.PENDING)])
def test_verdict_exit_codes(mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str],
                            state: str, code: int) -> None:
    mocked.get(VERDICT_URL, json=verdict_body(state, finished=10 if state != "pending" else 4))
    assert verdict() == code
    assert f"payload {PAYLOAD}: {state.upper()}" in capsys.readouterr().out


def test_verdict_wait_pending_at_the_timeout_exits_3(
        mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]) -> None:
    mocked.get(VERDICT_URL, json=verdict_body("pending", finished=4))
    assert verdict("--wait", "--timeout", "0.3s", "--poll", "100ms", "--format", "json") == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verdict"] == "pending"
    assert "still pending after" in captured.err
    assert captured.err.count("pending (e2e-aws 4/10)") == 1  # one line per state change
    assert len(mocked.calls) >= 3


def test_verdict_wait_returns_once_decided(mocked: responses.RequestsMock,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # The Markdown is the server's rendering, fetched once the JSON verdict is decided.
    markdown = "## ❌ flakegate: `x` is **fail**\n\n### Regressions\n"
    mocked.get(VERDICT_URL, body=markdown, content_type="text/markdown",
               match=[matchers.query_param_matcher({"format": "markdown"})])
    json_only = [matchers.query_param_matcher({})]
    mocked.get(VERDICT_URL, json=verdict_body("pending", finished=4), match=json_only)
    mocked.get(VERDICT_URL, json=verdict_body("fail"), match=json_only)
    assert verdict("--wait", "--timeout", "30s", "--poll", "50ms",
                   "--format", "markdown") == ExitStatus.REGRESSION
    assert capsys.readouterr().out == markdown
    assert mocked.calls[-1].request.headers["Accept"] == "text/markdown"


def test_verdict_for_an_unknown_payload_is_an_error(mocked: responses.RequestsMock,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    mocked.get(VERDICT_URL, status=404, json={"error": {
        "code": "not_found", "message": "no payload", "details": None}})
    assert verdict() == ExitStatus.ERROR
    assert "HTTP 404 not_found: no payload" in capsys.readouterr().err


def test_verdict_policy_flag_reaches_the_server(mocked: responses.RequestsMock) -> None:
    mocked.get(VERDICT_URL, json=verdict_body("pass"))
    assert verdict("--policy", "aggregator", "--format", "json") == ExitStatus.OK
    assert mocked.calls[0].request.params == {"policy": "aggregator"}  # type: ignore[attr-defined]


def test_verdict_payload_defaults_to_the_commit_in_ci(
        mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    mocked.get(f"{BASE}/payloads/abc123/verdict", json=verdict_body("pass", payload="abc123"))
    assert main(["verdict", "--url", BASE]) == ExitStatus.OK


@pytest.mark.parametrize("argv", [
    ["verdict", PAYLOAD, "--url", BASE, "--timeout", "2x"],
    ["verdict", PAYLOAD, "--url", BASE, "--format", "yaml"],
    ["run", "finish", "--job", "j", "--run-id", "1", "--url", BASE],  # --status is required
    ["run", "finish", "--status", "exploded", "--job", "j", "--run-id", "1"],
    ["upload", "--variant", "novalue"],
    ["upload", "--batch-bytes", "lots"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == ExitStatus.ERROR
    assert "usage:" in capsys.readouterr().err


def test_no_server_configured_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs"]) == ExitStatus.ERROR
    assert "FLAKEGATE_URL" in capsys.readouterr().err


def test_no_job_outside_ci_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "start", "--url", BASE]) == ExitStatus.ERROR
    assert "--job and --run-id required" in capsys.readouterr().err


def test_unreachable_server_exits_2_or_0_with_fail_open(
        closed_port_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["verdict", PAYLOAD, "--url", closed_port_url]) == ExitStatus.ERROR
    assert "cannot reach the server" in capsys.readouterr().err
    assert main(["verdict", PAYLOAD, "--url", closed_port_url, "--fail-open"]) == ExitStatus.OK
    err = capsys.readouterr().err
    assert "warning" in err and "--fail-open: not blocking" in err
    monkeypatch.setenv("FLAKEGATE_FAIL_OPEN", "1")
    assert main(["run", "start", "--job", "j", "--run-id", "1", "--url",
                 closed_port_url]) == ExitStatus.OK


def test_fail_open_does_not_forgive_a_bad_token(mocked: responses.RequestsMock) -> None:
    mocked.get(VERDICT_URL, status=401, json={"error": {
        "code": "unauthorized", "message": "bad token", "details": None}})
    assert verdict("--fail-open", "--token", "fg_wrong") == ExitStatus.ERROR
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer fg_wrong"


def test_fail_open_forgives_a_503_storm(mocked: responses.RequestsMock) -> None:
    mocked.get(VERDICT_URL, status=503, json={"error": {
        "code": "unavailable", "message": "down", "details": None}})
    assert verdict("--fail-open", "--retries", "1") == ExitStatus.OK
    assert len(mocked.calls) == 2


@pytest.mark.parametrize(("text", "size"), [("8MiB", 8 << 20), ("512k", 512 << 10),
                                            ("1000", 1000), ("2mb", 2 << 20)])
def test_batch_sizes(text: str, size: int) -> None:
    assert _size(text) == size


# -- against a live server ------------------------------------------------------------------


@pytest.fixture
def server(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.setenv("FLAKEGATE_URL", live.url)
    monkeypatch.setenv("FLAKEGATE_TOKEN", live.admin_token)
    return live


def test_upload_records_the_run_then_attaches_files(
        server: LiveServer, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_junit(tmp_path, "results/shard-1/junit.xml", [("a", "passed"), ("b", "failed")])
    write_junit(tmp_path, "results/shard-2/junit.xml", [("c", "passed")])
    code = main(["upload", "results/**/*.xml", "--junit", "missing/*.xml", "--job", unique,
                 "--run-id", "42", "--payload", "p1", "--status", "failure",
                 "--run-url", "https://ci.example/42", "--metadata", "shard=all",
                 "--format", "json"])
    captured = capsys.readouterr()
    assert code == ExitStatus.OK, captured.err
    summary = json.loads(captured.out)
    assert summary["status"] == "failure" and summary["files"] == 2 and summary["added"] == 2
    assert summary["tests"] == 3 and summary["unmatched"] == ["missing/*.xml"]
    assert "no file matches 'missing/*.xml'" in captured.err
    assert main(["runs", unique, "--format", "json"]) == ExitStatus.OK
    run = json.loads(capsys.readouterr().out)
    assert run["status"] == "failure" and run["payload"] == "p1"
    assert run["counts"]["failed"] == 1 and run["url"] == "https://ci.example/42"
    assert run["finished_at"] is not None and run["metadata"] == {"shard": "all"}
    assert sorted(f["name"] for f in run["files"]) == ["results/shard-1/junit.xml",
                                                      "results/shard-2/junit.xml"]


def test_shards_upload_into_one_run_and_finish_keeps_their_fields(
        server: LiveServer, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for shard in (1, 2):
        write_junit(tmp_path, f"s{shard}/junit.xml", [(f"t{shard}", "passed")])
        assert main(["upload", f"s{shard}", "--job", unique, "--run-id", "7", "--payload", "p",
                     "--status", "pending", "--metadata", f"shard{shard}=yes"]) == ExitStatus.OK
    assert main(["run", "finish", "--job", unique, "--run-id", "7", "--status", "success",
                 "--format", "json"]) == ExitStatus.OK
    run = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert run["status"] == "success" and run["payload"] == "p"
    assert run["counts"]["total"] == 2 and len(run["files"]) == 2
    assert run["metadata"] == {"shard1": "yes", "shard2": "yes"}


def test_upload_with_no_files_records_the_run_and_exits_2(
        server: LiveServer, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["upload", "nothing/*.xml", "--job", unique, "--run-id", "1", "--status", "error"]
    assert main(argv) == ExitStatus.ERROR
    assert "no JUnit file matched (the run was recorded)" in capsys.readouterr().err
    assert main([*argv, "--allow-no-files"]) == ExitStatus.OK
    assert main(["runs", unique, "--format", "json"]) == ExitStatus.OK
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == "error"


def test_run_start_and_finish(server: LiveServer, unique: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--job", unique, "--run-id", "9", "--format", "json"]
    assert main(["run", "start", "--payload", "p9", "--variant", "arch=arm64", *common]) == 0
    started = json.loads(capsys.readouterr().out)
    assert started["status"] == "pending" and started["started_at"] is not None
    assert main(["run", "finish", "--status", "aborted", *common]) == 0
    finished = json.loads(capsys.readouterr().out)
    assert finished["status"] == "aborted" and finished["payload"] == "p9"
    assert finished["started_at"] == started["started_at"]
    assert finished["variant"] == {"arch": "arm64"} and finished["finished_at"] is not None


def test_jobs_and_runs_listings(server: LiveServer, unique: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    for run_id, payload in (("1", "p1"), ("2", "p2"), ("3", "p1")):
        assert main(["run", "start", "--job", unique, "--run-id", run_id,
                     "--payload", payload]) == 0
    capsys.readouterr()
    assert main(["runs", unique, "--payload", "p1", "--format", "text"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split() == ["RUN", "STATUS", "PAYLOAD", "STARTED", "(UTC)", "TESTS", "FAILED",
                              "URL"]
    assert sorted(line.split()[0] for line in lines) == ["1", "3"]
    # Columns line up: every row has its status where the header has STATUS.
    column = header.index("STATUS")
    assert all(line[column:].startswith("pending ") for line in lines)
    assert main(["runs", unique, "--limit", "1", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["jobs", "--format", "text"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split()[:2] == ["JOB", "POLICY"]
    assert any(line.startswith(unique + " ") for line in lines)


def test_runs_of_an_unknown_job_or_with_a_bad_token_exit_2(
        server: LiveServer, unique: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "--token", "fg_wrong"]) == ExitStatus.ERROR
    assert "HTTP 401" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_upload_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = _Progress()
    progress(3, 3 << 20)
    progress(7, 5 << 20)
    progress.done()
    assert terminal.getvalue() == ("\rflakegate: uploaded 3 files, 3.0 MiB"
                                   "\rflakegate: uploaded 7 files, 5.0 MiB\n")
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    quiet = _Progress()
    quiet(1, 10)
    quiet.done()
    assert piped.getvalue() == ""
