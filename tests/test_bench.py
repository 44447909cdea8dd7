"""The decision-quality table still runs, at a tiny size, as the script users run.

Tests never import ``bench/`` (benchmarks are not a library); they run it as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures import ROOT, shared_fixtures


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
                           "--line-kib", "16", "--re-timeout", "0.5", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:-1]]
    assert [row[0] for row in rows][:4] == ["(a+)+$", "(x|x)*y", "(a|aa)*b", "(.*a){20}"]
    assert [row[0] for row in rows][-2:] == [".{250}x", "[ab]*a[ab]{20}"]
    # A 16 KiB line of a backtracking trap takes RE2 milliseconds, never the seconds (or years)
    # backtracking needs; RE2's own worst cases (the last two) are slower, still linear.
    assert all(float(row[1]) < 500 for row in rows[:-2])
    assert "python re, (a+)+$ on the 16 KiB line: did not finish in 0.5 s" in done.stdout


def test_a_tiny_run_of_the_disruption_quality_table() -> None:
    shared_fixtures("openshift")  # the simulation draws from origin's baseline files
    sizes = ["--jobs", "1", "--good", "2", "--per-kind", "1", "--sizes", "5"]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "disruption_quality.py"), *sizes],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "aggregator" in done.stdout and "bayes/aggregator detection" in done.stdout


def test_a_tiny_run_of_the_disruption_verdict_bench() -> None:
    shared_fixtures("openshift")  # origin's files are the stored disruption baselines
    sizes = ["--tests", "20", "--history", "5", "--repeat", "2"]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "disruption_verdict.py"), *sizes],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "ratio with/without" in done.stdout and "GET /disruption/allowed" in done.stdout
    assert "'disruption': ('pass', 10)" in done.stdout


def test_a_tiny_incremental_scan_run_scans_the_new_pattern_only() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "scan_incremental.py"),
                           "--runs", "60", "--log-size", "1500"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert out["history"].startswith("60 failed runs")
    # The first scan and the full rescan scanned every log; the backfill applied one pattern.
    first, incremental, full = (out[key].split(", ") for key in (
        "first scan, 100 patterns", "incremental, 1 new pattern", "full rescan, 101 patterns"))
    assert first[1] == incremental[1] == full[1] == "60 logs"
    assert int(full[2].split()[0]) >= int(first[2].split()[0]) > 0
    assert out["ratio incremental/full"].startswith("1/")
    assert "of the full rescan" in out["floor, read and inflate every log"]
    assert "of the full rescan" in out["floor through scan pages"]


def test_a_tiny_run_of_the_postgres_vs_sqlite_bench() -> None:
    from tests.postgres_server import binaries

    shared_fixtures("prow")  # the 7,353-case JUnit file
    if binaries() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL is not installed (scripts/system-deps.sh installs it)")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "postgres_vs_sqlite.py"),
                           "--repeat", "1", "--history-runs", "3", "--tests", "20",
                           "--size-runs", "2", "--size-tests", "30"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| ingest of the 7,353-case file" in done.stdout
    assert "| PG bytes per result, results table (2 x 30)" in done.stdout


def test_a_tiny_run_of_the_pages_bench() -> None:
    # -- pages (issue 15): the payload page's server time and the heaviest page's size --
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "ui_pages.py"),
                           "--history-runs", "20", "--tests", "50", "--repeat", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "/ui/payloads/{id}, cache off" in done.stdout and "(heaviest;" in done.stdout


def test_a_tiny_store_copy_bench_copies_and_verifies() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "store_copy.py"), "--runs", "4",
                           "--tests", "50"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 runs x 50 tests = 200 results" in done.stdout
    assert "peak RSS" in done.stdout and "verified" in done.stdout
    assert "ratio copy/put_run:" in done.stdout


def test_a_tiny_two_servers_bench_prints_both_modes_and_the_ratio() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "servers.py"), "--uploaders", "2",
                           "--runs", "2", "--tests", "5", "--workers", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 server(s):" in done.stdout and "2 server(s):" in done.stdout
    assert "ratio two servers / one:" in done.stdout
