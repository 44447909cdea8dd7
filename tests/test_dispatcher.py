"""The ``flakegate`` dispatcher (client/cli.py): which commands exist given what is installed,
and how every command's foreseeable errors end: one ``flakegate: ...`` line, an exit status,
no traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from client import cli, commands, extras
from client.exit_status import ExitStatus

FLAKEGATE = Path(sys.executable).with_name("flakegate")  # the installed console script


def flakegate(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FLAKEGATE), *argv], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "FLAKEGATE_RETRIES": "0"})


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == ExitStatus.ERROR, done
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("flakegate: "), done.stderr
    assert all(word in done.stderr for word in words), done.stderr


def test_an_unusable_db_url_is_one_line() -> None:
    assert_one_line_error(flakegate("db", "init", "--db", "nosuch://x"), "nosuch")


def test_an_unknown_baseline_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert flakegate("db", "init", "--db", url).returncode == ExitStatus.OK
    assert_one_line_error(flakegate("baseline", "show", "NOJOB", "--db", url), "NOJOB")


def test_version() -> None:
    from importlib.metadata import version

    done = flakegate("--version")
    assert done.returncode == 0 and done.stdout == f"flakegate {version('flakegate')}\n"


def test_db_takes_a_bare_path_like_flakegate_database(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "x.db"
    assert flakegate("db", "init", "--db", str(path)).returncode == ExitStatus.OK
    assert path.is_file()
    assert_one_line_error(flakegate("baseline", "show", "NOJOB", "--db", str(path)), "NOJOB")


@pytest.mark.parametrize("argv", [
    ["baseline", "show", "J"], ["baseline", "compute", "J"], ["token", "create", "--scope",
                                                              "read"],
    ["export", "ndjson", "--out", "exported"],
])
def test_only_db_init_creates_a_database(argv: list[str], tmp_path: Path) -> None:
    for db in (tmp_path / "nowhere.db", f"sqlite://{tmp_path}/nowhere.db"):
        done = subprocess.run([str(FLAKEGATE), *argv, "--db", str(db)], capture_output=True,
                              text=True, timeout=60, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
        assert_one_line_error(done, f"no database at {tmp_path / 'nowhere.db'}; run flakegate "
                                    "db init")
    # And without --db, the default var/flakegate.db of the working directory is not made.
    done = subprocess.run([str(FLAKEGATE), *argv], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert_one_line_error(done, "no database at", "var/flakegate.db")
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_baseline_with_db_on_a_client_only_install_names_the_extra(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(extras, "missing", lambda extra: ["numpy"] if extra == "server" else [])
    monkeypatch.delenv("FLAKEGATE_URL", raising=False)
    assert cli.main(["baseline", "show", "J", "--db", "x.db"]) == ExitStatus.ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'flakegate[server]'" in err and "--url" in err
    assert cli.main(["baseline", "show", "J"]) == ExitStatus.ERROR
    assert "pass --url or set FLAKEGATE_URL" in capsys.readouterr().err


def test_an_unreachable_server_is_one_line() -> None:
    from tests.processes import free_port

    done = flakegate("jobs", "--url", f"http://127.0.0.1:{free_port()}")
    assert_one_line_error(done, "cannot reach the server")


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "_jobs", interrupted)
    assert cli.main(["jobs", "--url", "http://flakegate.test"]) == ExitStatus.INTERRUPTED == 130
    assert capsys.readouterr().err == "flakegate: interrupted\n"


def test_the_named_server_commands_are_the_registered_ones() -> None:
    parser = cli.build_parser()
    choices = next(action for action in parser._actions
                   if isinstance(action, argparse._SubParsersAction)).choices
    client_only = argparse.ArgumentParser().add_subparsers()
    commands.register(client_only)
    assert set(choices) - set(client_only.choices) == set(cli.SERVER_COMMANDS)


def test_without_the_server_extra_help_says_how_to_get_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(extras, "missing", lambda extra: ["numpy"] if extra == "server" else [])
    assert cli.main(["--help"]) == ExitStatus.OK
    out = capsys.readouterr().out
    listing, _, last = out.rstrip().rpartition("\n")
    assert "upload" in listing and "serve" not in listing
    assert last == ("server commands (serve, db, token, demo, crawl, export, github) need "
                    "pip install 'flakegate[server]'")
    assert "baseline" in listing  # through the API, it is a client command
    for command in cli.SERVER_COMMANDS:
        assert cli.main([command, "--help"]) == ExitStatus.ERROR
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (f"flakegate: {command} needs pip install 'flakegate[server]' "
                                "(not installed: numpy)\n")


@pytest.mark.parametrize(("argv", "extra"), [
    (["crawl", "gcs", "--bucket", "b", "--prefix", "logs/j"], "gcs"),
    (["export", "bigquery", "--to", "bigquery://p/d"], "bigquery"),
    (["db", "init", "--db", "bigquery://p/d"], "bigquery"),
])
def test_a_missing_feature_extra_is_one_line(
        argv: list[str], extra: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(extras, "missing", lambda name: ["x-lib"] if name == extra else [])
    if "--db" not in argv:
        argv = [*argv, "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    assert cli.main(argv) == ExitStatus.ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"pip install 'flakegate[{extra}]'" in err, err


def test_extras_are_read_from_the_package_metadata() -> None:
    assert extras.requirements("server") == ["flask", "marshmallow", "gunicorn", "numpy",
                                             "scipy", "prometheus-client", "google-re2",
                                             "isal", "pyjwt"]
    assert extras.requirements("gcs") == ["google-cloud-storage", "pyyaml"]
    assert extras.missing("server") == []  # the test environment has every extra
    assert extras.requirements("no-such-extra") == []
