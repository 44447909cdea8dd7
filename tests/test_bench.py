"""The decision-quality table still runs, at a tiny size, as the script users run.

Tests never import ``bench/`` (benchmarks are not a library); they run it as a subprocess.
"""

from __future__ import annotations

import subprocess
import sys

from tests.fixtures import ROOT


def test_a_tiny_run_of_the_simulation_table() -> None:
    sizes = ["--jobs", "1", "--tests", "300", "--good", "3", "--per-kind", "2",
             "--small-good", "1", "--workers", "1"]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "simulate.py"), *sizes],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "good (n=3)" in done.stdout and "stable->70% (n=2)" in done.stdout
    assert "bayes/oracle" in done.stdout and "oracle" in done.stdout


def test_a_tiny_scan_throughput_run_agrees_with_ripgrep() -> None:
    # ripgrep is a system dependency (scripts/system-deps.sh): without it this test fails.
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "scan_throughput.py"), "--mib",
                           "0.5", "--log-size", "100000", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "patterns: 100 (80 literal)" in done.stdout
    flakegate, ripgrep = (line.split() for line in done.stdout.splitlines()
                          if line.startswith(("flakegate ", "rg -j1")))
    # Both found the same matching lines (the script fails otherwise), and some.
    assert flakegate[3] == ripgrep[4] and int(flakegate[3]) > 0
    assert "ratio flakegate/rg:" in done.stdout


def test_a_tiny_hostile_pattern_run_and_the_backtracking_contrast() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "scan_hostile.py"),
                           "--line-kib", "64", "--re-timeout", "0.5", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:-1]]
    assert [row[0] for row in rows][:4] == ["(a+)+$", "(x|x)*y", "(a|aa)*b", "(.*a){20}"]
    # A 64 KiB hostile line takes RE2 milliseconds, never the seconds backtracking needs.
    assert all(float(row[1]) < 500 for row in rows)
    assert "python re, (a+)+$ on the 64 KiB line: did not finish in 0.5 s" in done.stdout
