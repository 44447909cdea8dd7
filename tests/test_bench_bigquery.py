"""The BigQuery write benchmark still runs, at a tiny size, as the script users run.

Tests never import ``bench/`` (benchmarks are not a library); they run it as a subprocess.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures import ROOT


@pytest.mark.slow
def test_a_tiny_run_of_the_bigquery_write_benchmark() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bigquery_writes.py"),
                           "--runs", "4", "--tests", "3"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line[:28].strip(): line[28:].split() for line in done.stdout.splitlines()
            if line.startswith(("before", "after"))}
    # One load job per run write before (3 new runs, 1 replacement), none after.
    assert rows["before (one load job/write)"][:3] == ["4", "1000.0", "0"]
    assert rows["after (Storage Write API)"][:3] == ["0", "0.0", "4"]
    assert "ratio after/before: load jobs 0.000" in done.stdout
