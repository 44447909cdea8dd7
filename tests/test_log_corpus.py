"""The shipped log corpus is what the generator writes, and its ground truth is coherent.

Tests never import ``bench/``; the generator runs as the script users run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from api.failures.model import Pattern, PatternSyntax
from tests.fixtures import ROOT

SHIPPED = ROOT / "tests" / "data" / "logs"


def test_regenerating_the_shipped_corpus_gives_the_same_files(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "log_corpus.py"), "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    shipped = sorted(p.name for p in SHIPPED.iterdir() if p.name != "README.md")
    assert written == shipped
    for name in written:
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), name


def test_the_shipped_corpus_is_small_varied_and_its_truth_coherent() -> None:
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    logs = manifest["logs"]
    assert len(logs) == 40
    assert sum((SHIPPED / log["file"]).stat().st_size for log in logs) < 1024 * 1024
    causes = Counter(log["cause"] for log in logs if log["cause"])
    assert len(causes) == 16
    assert {log["expected"] for log in logs} == {None, "flaky", "infra", "new"}
    texts = {log["file"]: (SHIPPED / log["file"]).read_text() for log in logs}
    assert any("\x1b[" in text for text in texts.values())
    assert any(len(line) > 5000 for text in texts.values() for line in text.splitlines())
    for log in logs:
        lines = texts[log["file"]].splitlines()
        matched = {pattern_id for pattern_id, _ in log["matches"]}
        if log["cause"] is None:
            assert log["status"] == "success" and log["decisive"] is None
            continue
        first, last = log["cause_lines"]
        assert 1 <= first <= last <= len(lines)
        if log["cluster"]:
            assert log["decisive"] is None and log["expected"] == "new"
        else:
            decisive_lines = [line for pid, line in log["matches"] if pid == log["decisive"]]
            assert log["decisive"] in matched
            assert any(first <= line <= last for line in decisive_lines), log["file"]
    generic = set(manifest["generic_patterns"])
    failed = [log for log in logs if log["cause"]]
    assert all(generic & {pid for pid, _ in log["matches"]} for log in failed)


def test_the_curated_patterns_have_the_shape_of_the_model() -> None:
    rows = json.loads((SHIPPED / "patterns.json").read_text())
    patterns = [Pattern(**{**row, "syntax": PatternSyntax(row["syntax"]),
                           "tags": tuple(row["tags"]), "steps": tuple(row["steps"]),
                           "created": datetime.fromisoformat(row["created"])}) for row in rows]
    assert len(patterns) == 100
    assert sum(p.syntax is PatternSyntax.LITERAL for p in patterns) == 80
    assert len({p.id for p in patterns}) == 100
    assert any(p.steps for p in patterns) and any(p.lines_from_end for p in patterns)
