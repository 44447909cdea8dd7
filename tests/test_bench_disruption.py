"""bench/disruption_speed.py runs end to end at a tiny size (the figures are for BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import sys

from tests.fixtures import ROOT


def test_a_tiny_run_of_the_disruption_speed_bench() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "disruption_speed.py"),
                           "--runs", "300", "--keys", "4", "--rows", "50", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "(a) baselines from 300 runs x 4 keys" in done.stdout
    assert "(b) ?format=origin, 50 rows over HTTP" in done.stdout
