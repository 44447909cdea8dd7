"""The log ingest benchmark still runs, at a tiny size, as the script users run.

Tests never import ``bench/`` (benchmarks are not a library); they run it as a subprocess.
"""

from __future__ import annotations

import subprocess
import sys

from tests.fixtures import ROOT


def test_a_tiny_run_of_the_log_ingest_benchmark() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "log_ingest.py"),
                           "--size-mib", "0.5", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "log of 0.5 MiB" in done.stdout and "service/floor: " in done.stdout
    assert "stored/received bytes: 0.1" in done.stdout
