"""Failure patterns end to end against a live server (several gunicorn workers): curating is
admin-only and audited, and ``flakegate patterns import|export`` round-trips idempotently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from client.cli import main
from client.exit_status import ExitStatus
from tests.live_server import LiveServer


def _write_token(live_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["token", "create", "--scope", "write",
                 "--db", live_server.database_url]) == ExitStatus.OK
    return capsys.readouterr().out.strip()


def test_a_write_token_cannot_create_edit_or_retire_patterns(
        live_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    url, admin = live_server.url, live_server.headers()
    write = {"Authorization": f"Bearer {_write_token(live_server, capsys)}"}
    oom = {"expression": "Killed", "tags": ["infra"]}
    refused = requests.post(f"{url}/patterns", json=oom, headers=write, timeout=10)
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    made = requests.post(f"{url}/patterns", json=oom, headers=admin, timeout=10)
    assert made.status_code == 201
    pid = made.json()["id"]
    for method, path, body in (("PATCH", f"/patterns/{pid}", {"expression": "OOM"}),
                               ("PATCH", f"/patterns/{pid}", {"promoted": True}),
                               ("POST", f"/patterns/{pid}/retire", {}),
                               ("POST", "/scans", {"since": "1d"})):
        answer = requests.request(method, url + path, json=body, headers=write, timeout=10)
        assert answer.status_code == 403, (method, path)
    for _ in range(3):  # every worker reads the same, unchanged pattern
        got = requests.get(f"{url}/patterns/{pid}", headers=write, timeout=10).json()
        assert got["version"] == 1 and got["retired"] is None and not got["promoted"]
        assert [a["action"] for a in got["audit"]] == ["create"]
    retired = requests.post(f"{url}/patterns/{pid}/retire", json={"reason": "gone"},
                            headers=admin, timeout=10)
    assert retired.status_code == 200
    audit = requests.get(f"{url}/patterns/{pid}", headers=write, timeout=10).json()["audit"]
    assert [(a["action"], a["reason"]) for a in audit] == [("retire", "gone"), ("create", "")]


def test_patterns_import_is_idempotent_and_export_round_trips(
        live_server: LiveServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("FLAKEGATE_URL", live_server.url)
    monkeypatch.setenv("FLAKEGATE_TOKEN", live_server.admin_token)
    curated = [{"expression": "Killed", "tags": ["infra", "oom"], "specificity": 3},
               {"expression": r"--- FAIL: TestWatch\w+", "syntax": "regex",
                "tags": ["flaky"], "promoted": True},
               {"expression": "Process completed with exit code 1.", "lines_from_end": 3}]
    source = tmp_path / "patterns.json"
    source.write_text(json.dumps(curated))
    assert main(["patterns", "import", str(source)]) == ExitStatus.OK
    assert capsys.readouterr().out.strip() == "3 created, 0 updated, 0 unchanged"
    assert main(["patterns", "import", str(source)]) == ExitStatus.OK
    assert capsys.readouterr().out.strip() == "0 created, 0 updated, 3 unchanged"

    curated[0]["tags"] = ["oom", "infra"]  # the same set: unchanged
    curated[2]["description"] = "GitHub Actions' generic line"
    source.write_text(json.dumps(curated))
    assert main(["patterns", "import", str(source)]) == ExitStatus.OK
    assert capsys.readouterr().out.strip() == "0 created, 1 updated, 2 unchanged"

    exported = tmp_path / "out.json"
    assert main(["patterns", "export", str(exported)]) == ExitStatus.OK
    items = json.loads(exported.read_text())
    assert [(i["expression"], i["promoted"]) for i in items] == [
        ("Killed", False), (r"--- FAIL: TestWatch\w+", True),
        ("Process completed with exit code 1.", False)]
    assert items[2]["description"] == "GitHub Actions' generic line"
    capsys.readouterr()
    assert main(["patterns", "import", str(exported)]) == ExitStatus.OK
    assert capsys.readouterr().out.strip() == "0 created, 0 updated, 3 unchanged"

    write = _write_token(live_server, capsys)
    new = tmp_path / "new.json"
    new.write_text('[{"expression": "etcdserver: leader changed"}]')
    assert main(["patterns", "import", str(new), "--token", write]) == ExitStatus.ERROR
    assert "admin" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('[{"expression": "(a)\\\\1", "syntax": "regex"}]')
    assert main(["patterns", "import", str(bad)]) == ExitStatus.ERROR
    assert "back" in capsys.readouterr().err.lower()
