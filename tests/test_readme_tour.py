"""The README's "A one-minute tour", run as written: its shell block, pasted into bash after
`make run` (here: `flakegate db init` + `flakegate demo` + a live server), ends without an
error, twice in a row."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import ROOT
from tests.live_server import LiveServer

FLAKEGATE = Path(sys.executable).with_name("flakegate")


def tour_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A one-minute tour"):]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the tour is one shell block"
    return blocks[0]


def test_the_tour_has_no_placeholder_and_no_fixed_deadline() -> None:
    block = tour_block()
    assert "/payloads/PAYLOAD/" not in block and "fg_..." not in block
    assert not re.search(r'"deadline":"20\d\d-', block)
    assert "TOKEN=$(cat var/demo-token)" in block
    for line in block.splitlines():
        if line.startswith("curl "):
            assert line.startswith("curl -fsS "), line  # an error response fails the tour


def _demo(workdir: Path, database_url: str) -> str:
    """Load the demo as `make run` does; return its admin token, written to var/demo-token
    (by the demo itself once it does, else here, from what it printed)."""
    env = {**os.environ, "PATH": f"{FLAKEGATE.parent}:/usr/bin:/bin"}
    for argv in (["db", "init"], ["demo", "--base-url", "http://localhost:8080"]):
        done = subprocess.run([str(FLAKEGATE), *argv, "--db", database_url], cwd=workdir,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    token_file = workdir / "var" / "demo-token"
    if not token_file.exists():
        found = re.search(r"\b(fg_[A-Za-z0-9_-]{20,})", done.stdout)
        assert found, done.stdout
        token_file.write_text(found.group(1) + "\n")
    return token_file.read_text().strip()


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / ".venv").symlink_to(FLAKEGATE.parent.parent)  # the tour runs .venv/bin/flakegate
    database_url = f"sqlite://{tmp_path / 'var' / 'flakegate.db'}"
    token = _demo(tmp_path, database_url)
    server = LiveServer(database_url, token, workers=1).start()
    try:
        script = tour_block().replace("localhost:8080", f"127.0.0.1:{server.port}")
        for attempt in (1, 2):  # and again: the tour is safe to repeat
            done = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path,
                env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"},
                capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (attempt, done.stdout[-3000:], done.stderr)
            # Nothing on stderr but the verdict's warning that the new job has no baseline
            # (no silent pass): the tour's own job was never judged before; and what
            # `patterns export` says it wrote (its stdout is not the file).
            warnings = [line for line in done.stderr.splitlines()
                        if line != "exported 5 patterns to var/patterns.json"]
            assert warnings and all(line.startswith("flakegate: warning (no_baseline): job "
                                                    "'e2e (aws)'") for line in warnings), \
                (attempt, done.stderr)
            assert "is **fail**" in done.stdout  # the demo payload, found and judged
            assert '"added":true' in done.stdout or attempt == 2
            assert "PENDING e2e (aws): runs 1/10 finished" in done.stdout
            assert "exit status 3" in done.stdout
            # The demo's failure causes, disruption and patterns (issues 12 and 13).
            assert "### Why runs failed" in done.stdout
            assert "### Disruption and alerts" in done.stdout
            assert "11/24 flaky, 3/24 infra, 10/24 new" in done.stdout
            assert "10 [FAILED] Expected volume content" in done.stdout  # the top cluster
            assert "exact row has only 70 runs" in done.stdout  # /disruption/allowed
            assert "decisive match tagged flaky: pattern #1" in done.stdout  # run 1003's log
            assert "0 created, 0 updated, 5 unchanged" in done.stdout
            assert "0 P99 increases, 0 P99 decreases" in done.stdout
            assert (tmp_path / "var" / "query_results.json").read_text().startswith("[\n  {")
    finally:
        server.stop()
