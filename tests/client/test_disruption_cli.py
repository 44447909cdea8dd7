"""``flakegate upload`` of an artifacts folder and ``flakegate disruption baselines|refresh``,
against a live server."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from client.cli import main
from client.exit_status import ExitStatus
from client.upload import expand, is_measurement_name
from tests.client.conftest import write_junit
from tests.live_server import LiveServer

DATA = Path(__file__).parent.parent / "data" / "disruption"


@pytest.fixture
def server(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.setenv("FLAKEGATE_URL", live.url)
    monkeypatch.setenv("FLAKEGATE_TOKEN", live.admin_token)
    return live


def artifacts_folder(root: Path) -> Path:
    folder = root / "artifacts" / "e2e-aws-ovn-upgrade" / "openshift-e2e-test" / "artifacts"
    folder.mkdir(parents=True)
    for item in DATA.iterdir():
        shutil.copy(item, folder / item.name)
    (folder / "e2e-timelines.json").write_text("{}")  # not ours: not sent
    write_junit(folder, "junit/junit_e2e.xml", [("a", "passed")])
    return root / "artifacts"


def test_a_folder_stands_for_its_junit_and_measurement_files(tmp_path: Path) -> None:
    folder = artifacts_folder(tmp_path)
    names = sorted(p.name for p in expand([str(folder)]).files)
    assert names == sorted([*(p.name for p in DATA.iterdir()), "junit_e2e.xml"])
    assert is_measurement_name("x/alerts_e2e.json.gz") and not is_measurement_name("a.json")


def test_upload_then_refresh_then_origin_baselines(
        server: LiveServer, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    artifacts_folder(tmp_path)
    code = main(["upload", "artifacts", "--job", unique, "--run-id", "1", "--status", "success",
                 "--started-at", datetime.now(UTC).isoformat(), "--format", "json"])
    captured = capsys.readouterr()
    assert code == ExitStatus.OK, captured.err
    assert json.loads(captured.out)["files"] == 6
    assert main(["disruption", "refresh", "--kind", "disruptions", "--note", "test",
                 "--format", "json"]) == ExitStatus.OK
    made = json.loads(capsys.readouterr().out)
    assert made["rows"] >= 4
    assert main(["disruption", "baselines", "--kind", "disruptions", "--format", "origin"]) \
        == ExitStatus.OK
    text = capsys.readouterr().out
    rows = json.loads(text)
    assert rows[0]["Release"] == "4.15" and next(iter(rows[0])) == "BackendName"
    assert not text.endswith("\n")
    assert main(["disruption", "baselines", "--kind", "disruptions", "--name",
                 "kube-api-new-connections"]) == ExitStatus.OK
    table = capsys.readouterr().out
    assert "kube-api-new-connections" in table and "oauth" not in table
