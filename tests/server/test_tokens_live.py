"""Tokens and repairs end to end: the server commands on ``--db`` and the client CLI against a
live server on the same database (several gunicorn workers, so no per-process state helps)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from client.cli import main
from client.exit_status import ExitStatus
from tests.fixtures import ROOT
from tests.live_server import LiveServer


def test_a_token_revoked_with_the_cli_is_refused_on_its_next_request(
        live_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    db = live_server.database_url
    assert main(["token", "create", "--scope", "write", "--label", "ci", "--expires", "90d",
                 "--db", db]) == ExitStatus.OK
    captured = capsys.readouterr()
    secret = captured.out.strip()
    token_id = captured.err.split()[2]
    headers = {"Authorization": f"Bearer {secret}"}
    for _ in range(4):  # every worker accepts it
        assert requests.put(f"{live_server.url}/jobs/j", headers=headers,
                            timeout=10).status_code in (200, 201)

    assert main(["token", "list", "--db", db]) == ExitStatus.OK
    listed = capsys.readouterr().out
    row = next(line for line in listed.splitlines() if line.startswith(token_id))
    assert " write " in row and row.endswith("ci") and secret not in listed

    assert main(["token", "revoke", token_id, "--db", db]) == ExitStatus.OK
    assert f"token {token_id} revoked" in capsys.readouterr().out
    for _ in range(4):
        refused = requests.get(f"{live_server.url}/jobs", headers=headers, timeout=10)
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "the bearer token was revoked"

    assert main(["token", "revoke", "ffffffffffff", "--db", db]) == ExitStatus.ERROR
    assert "no token" in capsys.readouterr().err


def test_a_token_revoked_over_http_is_refused_on_its_next_request(
        live_server: LiveServer) -> None:
    admin = live_server.headers()
    made = requests.post(f"{live_server.url}/tokens", json={"scope": "read"}, headers=admin,
                         timeout=10).json()
    theirs = {"Authorization": f"Bearer {made['token']}"}
    assert requests.get(f"{live_server.url}/jobs", headers=theirs, timeout=10).ok
    assert requests.delete(f"{live_server.url}/tokens/{made['id']}", headers=admin,
                           timeout=10).status_code == 204
    assert requests.get(f"{live_server.url}/jobs", headers=theirs,
                        timeout=10).status_code == 401


def test_run_delete_from_the_cli(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLAKEGATE_URL", live_server.url)
    monkeypatch.setenv("FLAKEGATE_TOKEN", live_server.admin_token)
    requests.put(f"{live_server.url}/jobs/j%2Fk/runs/7", json={"status": "pending"},
                 headers=live_server.headers(), timeout=10).raise_for_status()
    assert main(["token", "create", "--scope", "write",
                 "--db", live_server.database_url]) == ExitStatus.OK
    write = capsys.readouterr().out.strip()

    assert main(["run", "delete", "--job", "j/k", "--run-id", "7",
                 "--token", write]) == ExitStatus.ERROR
    assert "admin" in capsys.readouterr().err
    assert main(["run", "delete", "--job", "j/k", "--run-id", "7",
                 "--reason", "upload failed"]) == ExitStatus.OK
    assert "deleted" in capsys.readouterr().out
    assert requests.get(f"{live_server.url}/jobs/j%2Fk/runs/7", headers=live_server.headers(),
                        timeout=10).status_code == 404
    assert main(["run", "delete", "--job", "j/k", "--run-id", "7"]) == ExitStatus.ERROR
    assert main(["run", "delete", "--job", "j/k"]) == ExitStatus.ERROR  # the run id is required


def test_serve_refuses_a_short_admin_token_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "FLAKEGATE_ADMIN_TOKEN": "fg_short"}
    done = subprocess.run(
        [sys.executable, "-m", "client.cli", "serve", "--port", "1",
         "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == ExitStatus.ERROR
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "FLAKEGATE_ADMIN_TOKEN must be at least 32 characters" in lines[0]
    assert not (tmp_path / "x.db").exists()  # refused before touching anything
