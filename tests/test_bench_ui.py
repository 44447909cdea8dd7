"""The pages' read benchmark still runs, at a tiny size, as the script users run."""

from __future__ import annotations

import subprocess
import sys

from tests.fixtures import ROOT


def test_a_tiny_run_of_the_test_page_bench() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "ui_test_page.py"), "--runs",
                           "30", "--tests", "20", "--repeat", "3"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split("|")[1].strip(): line for line in done.stdout.splitlines()
            if line.startswith("| ") and "ms |" in line}
    assert set(rows) == {"test page, 30 runs", "GET history, 30 runs",
                         "GET /payloads, 3 payloads, verdict cache warm",
                         "GET /payloads, 3 payloads, verdict cache cold"}
    assert all("store " in line for line in rows.values())
