"""The action turns each verdict warning into a ``::warning::`` annotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.models import Verdict
from tests.action.test_action import load_gate
from tests.client.conftest import verdict_body


def test_each_warning_is_an_annotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    gate = load_gate()
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    body = verdict_body("pass")
    body["warnings"] = [{"code": "no_baseline", "job": "e2e-gcp",
                         "message": "job 'e2e-gcp' has no baseline\nsecond line"}]
    gate._report(Verdict.from_json(body), "## ✅ pass\n\n⚠️ Warning (no_baseline): x\n", "p",
                 "https://fg.example/r", True)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert lines == ["::warning title=flakegate%3A no_baseline::job 'e2e-gcp' has no baseline"
                     "%0Asecond line"]
    assert "⚠️ Warning (no_baseline)" in (tmp_path / "summary.md").read_text()
