"""``flakegate upload --log STEP=PATH`` against a live server (gunicorn, real store)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import requests

from client import errors
from client.api import Client
from client.cli import main
from client.exit_status import ExitStatus
from tests.client.conftest import write_junit
from tests.live_server import LiveServer

BUILD_LOG = b"\x1b[1m+ make test\x1b[0m\n--- FAIL: TestWatchReconnect (31.02s)\nFAIL\tpkg/watch\n"
STRIPPED = "+ make test\n--- FAIL: TestWatchReconnect (31.02s)\nFAIL\tpkg/watch\n"


@pytest.fixture
def server(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "PROW_JOB_ID", "JENKINS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLAKEGATE_URL", live.url)
    monkeypatch.setenv("FLAKEGATE_TOKEN", live.admin_token)
    monkeypatch.setenv("FLAKEGATE_RETRIES", "0")
    return live


def read_log(server: LiveServer, job: str, run_id: str, step: str) -> requests.Response:
    with Client(server.url, server.admin_token) as client:
        path = client.base_url + f"/jobs/{requests.utils.quote(job, safe='')}/runs/{run_id}" \
            f"/logs/{step}"
    return requests.get(path, headers={"Authorization": f"Bearer {server.admin_token}"},
                        timeout=30)


def test_upload_sends_each_log_gzipped_after_the_run(server: LiveServer, unique: str,
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    write_junit(tmp_path, "junit.xml", [("a", "failed")])
    (tmp_path / "build-log.txt").write_bytes(BUILD_LOG)
    (tmp_path / "unit.log.gz").write_bytes(gzip.compress(b"unit ok\n"))
    argv = ["upload", str(tmp_path / "junit.xml"), "--job", unique, "--run-id", "7",
            "--status", "failure", "--log", f"build={tmp_path / 'build-log.txt'}",
            "--log", f"unit={tmp_path / 'unit.log.gz'}", "--json"]
    assert main(argv) == ExitStatus.OK
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "failure"
    assert out["logs"] == [
        {"step": "build", "outcome": "created", "lines": 3, "size": len(STRIPPED),
         "truncated": False},
        {"step": "unit", "outcome": "created", "lines": 1, "size": 8, "truncated": False}]
    stored = read_log(server, unique, "7", "build")
    assert stored.status_code == 200
    assert stored.text == STRIPPED
    assert main(argv) == ExitStatus.OK  # a retry of the whole upload changes nothing
    assert [log["outcome"] for log in json.loads(capsys.readouterr().out)["logs"]] == [
        "unchanged", "unchanged"]


def test_a_log_alone_is_enough_and_bad_flags_fail_before_any_request(
        server: LiveServer, unique: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "build-log.txt").write_bytes(BUILD_LOG)
    assert main(["upload", "--job", unique, "--run-id", "1", "--status", "failure", "--log",
                 f"build={tmp_path / 'build-log.txt'}", "--format", "text"]) == ExitStatus.OK
    assert "log of step 'build': created, 3 lines" in capsys.readouterr().out
    assert main(["upload", "--job", unique, "--run-id", "2", "--log", "no-equals-sign"]) \
        == ExitStatus.ERROR
    assert "--log takes STEP=PATH" in capsys.readouterr().err
    with Client(server.url, server.admin_token) as client, pytest.raises(errors.NotFoundError):
        client.get_run(unique, "2")
    assert main(["upload", "--job", unique, "--run-id", "3", "--log",
                 f"build={tmp_path / 'missing.txt'}"]) == ExitStatus.ERROR
    assert "cannot read" in capsys.readouterr().err
