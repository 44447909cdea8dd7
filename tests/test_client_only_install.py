"""A client-only install (``pip install flakegate``: the package and ``requests``, no extras) in
a fresh venv: the CLI lists the client commands, names the server extra, and a server command
says what to install in one line instead of a ``ModuleNotFoundError`` traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from client.cli import SERVER_COMMANDS
from client.exit_status import ExitStatus
from tests.fixtures import ROOT

HINT = "pip install 'flakegate[server]'"


@pytest.fixture(scope="module")
def client_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a venv holding flakegate (built as a wheel) and requests only."""
    work = tmp_path_factory.mktemp("client-only")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv*", ".git", "var", "*.egg-info", "build", "__pycache__", ".pytest_cache"))

    def run(*argv: str | Path) -> None:
        subprocess.run([str(arg) for arg in argv], check=True, timeout=600,
                       capture_output=True)

    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
        work / "dist", source)
    run(sys.executable, "-m", "venv", work / "venv")
    pip = work / "venv" / "bin" / "pip"
    run(pip, "install", "--quiet", "--no-deps", next((work / "dist").glob("flakegate-*.whl")))
    run(pip, "install", "--quiet", "requests")
    return work / "venv" / "bin"


def flakegate(bin_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "flakegate"), *argv], capture_output=True, text=True,
                          timeout=60, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})


@pytest.mark.slow
def test_the_venv_really_has_no_server(client_only: Path) -> None:
    probe = subprocess.run([str(client_only / "python"), "-c", "import flask"],
                           capture_output=True, text=True, timeout=60)
    assert "ModuleNotFoundError" in probe.stderr


@pytest.mark.slow
def test_help_lists_the_client_commands_and_names_the_server_extra(client_only: Path) -> None:
    done = flakegate(client_only, "--help")
    assert done.returncode == ExitStatus.OK, done.stderr
    assert all(word in done.stdout for word in ("upload", "verdict", "jobs", "runs"))
    *listing, last = done.stdout.rstrip().splitlines()
    assert not any("serve" in line for line in listing)
    assert last == f"server commands ({', '.join(SERVER_COMMANDS)}) need {HINT}"


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["serve"], ["db", "init"], ["crawl", "gcs"], ["export"]])
def test_a_server_command_says_what_to_install(client_only: Path, argv: list[str]) -> None:
    done = flakegate(client_only, *argv)
    assert done.returncode == ExitStatus.ERROR == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.count("\n") == 1 and HINT in done.stderr, done.stderr


@pytest.mark.slow
def test_baselines_through_the_api_need_no_server_extra(client_only: Path,
                                                        tmp_path: Path) -> None:
    from client.api import Client
    from tests.client.conftest import seed_history
    from tests.live_server import LiveServer

    server = LiveServer(f"sqlite:///{tmp_path / 'x.db'}",
                        "fg_client-only-admin-long-enough-for-the-32-char-rule", workers=1).start()
    try:
        with Client(server.url, server.admin_token) as client:
            seed_history(client, "e2e", runs=2)
        connection = ["--url", server.url, "--token", server.admin_token]
        done = flakegate(client_only, "baseline", "compute", "e2e", *connection)
        assert done.returncode == 0 and done.stdout.startswith("e2e: baseline v2 from 2 runs"), \
            done.stderr
        done = flakegate(client_only, "baseline", "show", "e2e", "--format", "text",
                         *connection)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("e2e baseline v2: 2 runs, 5 tests")
        done = flakegate(client_only, "baseline", "show", "e2e", "--db", "x.db")
        assert done.returncode == 2 and HINT in done.stderr and "--url" in done.stderr
    finally:
        server.stop()
