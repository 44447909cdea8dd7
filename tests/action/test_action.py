"""The composite action, executed step by step as the runner would (see conftest.Harness).

The pass / regression / pending cases need the server's verdict endpoint; the others need
only runs and JUnit uploads.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from api.pages_urls import payload_page
from client.api import Client
from client.models import Verdict
from tests.action.conftest import ROOT, Harness, RunAction, parse_file_commands
from tests.client.conftest import regression_body, seed_history, verdict_body, write_junit
from tests.live_server import LiveServer

QUICK = {"FLAKEGATE_RETRIES": "1"}


def shard(run_action: RunAction, live: LiveServer, tmp_path: Path, *, job: str, run_id: str,
          payload: str, cases: list[tuple[str, str]], status: str = "success",
          github: dict[str, str] | None = None) -> None:
    folder = tmp_path / f"results-{run_id}"
    write_junit(folder, "junit_01.xml", cases)
    done = run_action({"server-url": live.url, "token": live.admin_token, "job": job,
                       "run-id": run_id, "payload": payload, "junit": f"{folder}/*.xml",
                       "status": status}, github=github)
    assert done.exit_code == 0, done.log


# -- no server needed ---------------------------------------------------------------------------


def test_unreachable_server_with_fail_open_passes_with_a_warning(
        run_action: RunAction, closed_port_url: str) -> None:
    done = run_action({"server-url": closed_port_url, "wait": "true", "fail-open": "true"},
                      env=QUICK)
    assert done.exit_code == 0, done.log
    assert done.outputs == {"verdict": "unavailable", "regressions": "0", "report-url": ""}
    [warning] = done.annotations("warning")
    assert "cannot reach the server" in warning.message and "fail-open" in warning.message
    assert "flakegate was unavailable" in done.summary


def test_unreachable_server_without_fail_open_fails_the_step(
        run_action: RunAction, closed_port_url: str) -> None:
    done = run_action({"server-url": closed_port_url, "wait": "true"}, env=QUICK)
    assert done.exit_code == 2 and done.failed_step == "gate"
    [error] = done.annotations("error")
    assert "cannot reach the server" in error.message


@pytest.mark.parametrize(("inputs", "message"), [
    ({"fail-on": "sometimes"}, "fail-on must be one of"),
    ({"wait": "maybe"}, "wait must be true or false"),
    ({"timeout": "2 hours"}, "input timeout"),
    ({"status": "exploded"}, "status must be one of"),
])
def test_bad_inputs_fail_with_an_error_annotation(run_action: RunAction, closed_port_url: str,
                                                 inputs: dict[str, str], message: str) -> None:
    done = run_action({"server-url": closed_port_url, **inputs})
    assert done.exit_code == 2
    assert message in done.annotations("error")[0].message


def test_the_token_is_masked_before_anything_else_runs(run_action: RunAction,
                                                        closed_port_url: str) -> None:
    token = "fg_super-secret-token-value"
    done = run_action({"server-url": closed_port_url, "token": token, "wait": "true",
                       "fail-open": "true"}, env=QUICK)
    assert done.commands[0].name == "add-mask" and done.masks == [token]
    assert token not in done.log
    assert done.raw_stdout.count(token) == 1  # only in the add-mask command itself


def test_the_install_step_is_skipped_with_an_override_python(run_action: RunAction,
                                                             closed_port_url: str) -> None:
    done = run_action({"server-url": closed_port_url, "fail-on": "never"})
    assert done.step_outputs["install"] == {"python": sys.executable}


def test_no_expression_is_pasted_into_a_script() -> None:
    # Inputs reach the scripts only through env:, so no input value can inject shell code.
    manifest = yaml.safe_load((ROOT / "action" / "action.yml").read_text())
    for step in manifest["runs"]["steps"]:
        assert "${{" not in step["run"], step.get("name")


# -- reporting, checked on verdicts shaped like the contract ------------------------------------


def load_gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flakegate_gate", ROOT / "action" / "gate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_annotations_are_capped_and_the_summary_fits_in_a_mebibyte(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    gate = load_gate()
    body = verdict_body("fail", regressions=0)
    body["jobs"][0]["regressions"] = [regression_body(f"test {i} " + "x" * 400)
                                      for i in range(5000)]
    outputs, summary = tmp_path / "out", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    # The server's Markdown, as large as a server without a row limit could make it.
    markdown = "## ❌ flakegate\n\n" + "".join(f"| j | test {i} {'x' * 400} |\n"
                                                 for i in range(5000))
    gate._report(Verdict.from_json(body), markdown, "p", "https://fg.example/report", True)
    commands = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert sum(line.startswith("::error ") for line in commands) == 10
    assert any(line.startswith("::notice ") and "4990 more regressions" in line
               for line in commands)
    assert parse_file_commands(outputs.read_text()) == {
        "verdict": "fail", "regressions": "5000", "report-url": "https://fg.example/report"}
    size = summary.stat().st_size
    assert 900_000 < size < 1024 * 1024
    assert summary.read_text().endswith("_(summary truncated)_\n")


def test_the_summary_is_the_servers_markdown_with_the_report_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = load_gate()
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    gate._report(Verdict.from_json(verdict_body("pass")), "## ✅ flakegate: `p` is **pass**\n",
                 "p", "https://fg.example/report", True)
    assert summary.read_text() == ("## ✅ flakegate: `p` is **pass**\n\n"
                                   "[full report](https://fg.example/report)\n")


def test_names_quoted_in_the_summary_cannot_break_out() -> None:
    gate = load_gate()
    # A '|' must not open a table column, a backtick must not end the code span, HTML must
    # not render, and a kilobyte-long name is cut.
    assert gate.cell("a|b `c` <b>\nd") == "a\\|b \\`c\\` &lt;b&gt; d"
    assert len(gate.cell("x" * 1000)) == gate.CELL_MAX


def test_an_annotation_escapes_newlines_and_percent(capsys: pytest.CaptureFixture[str]) -> None:
    gate = load_gate()
    gate.command("error", "50% of runs\nfailed", title="a: b, c")
    assert capsys.readouterr().out == "::error title=a%3A b%2C c::50%25 of runs%0Afailed\n"


@pytest.mark.parametrize(("verdict", "fail_on", "code"), [
    ("pass", "regression", 0), ("fail", "regression", 1), ("pending", "regression", 0),
    ("pending", "pending", 3), ("fail", "pending", 1), ("fail", "never", 0),
    ("pending", "never", 0),
])
def test_fail_on(verdict: str, fail_on: str, code: int) -> None:
    assert load_gate().decide(verdict, fail_on) == code


# -- against a live server: uploads ---------------------------------------------------------------


def test_a_shard_uploads_with_the_github_defaults(run_action: RunAction, live: LiveServer,
                                                  client: Client, tmp_path: Path) -> None:
    write_junit(tmp_path / "ws", "test-results/junit.xml", [("a", "passed"), ("b", "failed")])
    github = {"GITHUB_WORKSPACE": str(tmp_path / "ws"), "GITHUB_RUN_ID": "5550001",
              "GITHUB_SHA": "c0ffee" * 6 + "abcd"}
    done = run_action({"server-url": live.url, "token": live.admin_token,
                       "junit": "test-results/**/*.xml\n# a comment\n", "status": "failure"},
                      github=github)
    assert done.exit_code == 0, done.log
    assert done.outputs == {"verdict": "", "regressions": "0", "report-url": ""}
    run = client.get_run("acme/widgets/ci/e2e", "5550001-1")
    assert run.status == "failure" and run.payload == github["GITHUB_SHA"]
    assert run.url == "https://github.com/acme/widgets/actions/runs/5550001/attempts/1"
    assert [f.name for f in run.files] == ["test-results/junit.xml"]
    assert run.counts.failed == 1
    assert "recorded run `5550001-1`" in done.summary


def test_matrix_shards_share_one_run_finished_by_the_gate_job(
        run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path) -> None:
    github = {"GITHUB_RUN_ID": "5550002"}
    for index in (1, 2):
        shard(run_action, live, tmp_path, job="sharded", run_id="", payload="pl-shards",
              cases=[(f"t{index}", "passed")], status="pending",
              github={**github, "GITHUB_JOB": f"shard-{index}"})
    assert client.get_run("sharded", "5550002-1").status == "pending"
    done = run_action({"server-url": live.url, "token": live.admin_token, "job": "sharded",
                       "payload": "pl-shards", "status": "success"},
                      github={**github, "GITHUB_JOB": "gate"})
    assert done.exit_code == 0, done.log
    run = client.get_run("sharded", "5550002-1")
    assert run.status == "success" and run.counts.total == 2 and len(run.files) == 2


def test_a_junit_glob_that_matches_nothing_fails_but_records_the_run(
        run_action: RunAction, live: LiveServer, client: Client) -> None:
    done = run_action({"server-url": live.url, "token": live.admin_token, "job": "no-files",
                       "run-id": "1", "junit": "nowhere/*.xml", "status": "error"})
    assert done.exit_code == 2
    assert "no JUnit file matched" in done.annotations("error")[0].message
    assert client.get_run("no-files", "1").status == "error"


def test_job_status_words_are_accepted(run_action: RunAction, live: LiveServer,
                                       client: Client) -> None:
    done = run_action({"server-url": live.url, "token": live.admin_token, "job": "cancelled",
                       "run-id": "1", "status": "cancelled"})
    assert done.exit_code == 0, done.log
    assert client.get_run("cancelled", "1").status == "aborted"


# -- against a live server: verdicts (need GET /payloads/{id}/verdict) --------------------------


@pytest.fixture
def judged_job(client: Client, request: pytest.FixtureRequest) -> str:
    job = f"gate {request.node.name}"
    seed_history(client, job)
    return job


def test_pass(run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path,
              judged_job: str) -> None:
    payload = f"{judged_job}-payload"
    client.put_payload(payload, expected={judged_job: 3})
    for index in range(3):
        shard(run_action, live, tmp_path, job=judged_job, run_id=f"r{index}", payload=payload,
              cases=[(name, "passed") for name in ("t1", "t2", "t3", "t4", "t5")])
    done = run_action({"server-url": live.url, "token": live.admin_token, "payload": payload,
                       "wait": "true", "timeout": "60s", "poll": "1s"})
    assert done.exit_code == 0, done.log
    assert done.outputs["verdict"] == "pass" and done.outputs["regressions"] == "0"
    # The payload's page, which a person opens from the pipeline (issue 15).
    assert done.outputs["report-url"] == payload_page(payload, base_url=live.url)
    assert "is **pass**" in done.summary and not done.annotations("error")


def test_regression(run_action: RunAction, live: LiveServer, client: Client, tmp_path: Path,
                    judged_job: str) -> None:
    payload = f"{judged_job}-payload"
    client.put_payload(payload, expected={judged_job: 3})
    for index in range(3):
        shard(run_action, live, tmp_path, job=judged_job, run_id=f"r{index}", payload=payload,
              cases=[("t1", "passed"), ("t2", "passed"), ("t3", "failed"), ("t4", "passed"),
                     ("t5", "passed")], status="failure")
    done = run_action({"server-url": live.url, "token": live.admin_token, "payload": payload,
                       "wait": "true", "timeout": "60s", "poll": "1s"})
    assert done.exit_code == 1, done.log
    assert done.outputs["verdict"] == "fail" and int(done.outputs["regressions"]) >= 1
    assert "### Regressions" in done.summary and "t3" in done.summary
    errors = done.annotations("error")
    assert 1 <= len(errors) <= 10 and any("t3" in error.message for error in errors)
    never = run_action({"server-url": live.url, "token": live.admin_token, "payload": payload,
                        "wait": "true", "timeout": "0", "fail-on": "never"})
    assert never.exit_code == 0 and never.outputs["verdict"] == "fail"


def test_pending_at_the_timeout(run_action: RunAction, live: LiveServer, client: Client,
                                tmp_path: Path, judged_job: str) -> None:
    payload = f"{judged_job}-payload"
    client.put_payload(payload, expected={judged_job: 3})
    shard(run_action, live, tmp_path, job=judged_job, run_id="r0", payload=payload,
          cases=[("t1", "passed")])
    inputs = {"server-url": live.url, "token": live.admin_token, "payload": payload,
              "wait": "true", "timeout": "2s", "poll": "500ms"}
    strict = run_action({**inputs, "fail-on": "pending"})
    assert strict.exit_code == 3, strict.log
    assert strict.outputs["verdict"] == "pending"
    assert "still pending at the timeout" in strict.annotations("warning")[0].message
    assert "is **pending**" in strict.summary
    lenient = run_action(inputs)
    assert lenient.exit_code == 0 and lenient.outputs["verdict"] == "pending"


# -- the real install step -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_install_step_builds_its_own_venv(tmp_path: Path, live: LiveServer,
                                              client: Client) -> None:
    # A copy of the checkout: building in place would leave build/ and egg-info in the tree.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    for folder in ("client", "action"):
        shutil.copytree(ROOT / folder, checkout / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    base = shutil.which("python3") or sys.executable
    offline = subprocess.run([base, "-c", "import requests, setuptools, wheel"],
                             capture_output=True).returncode == 0
    # Offline-safe when the runner's Python has what the build needs; otherwise the real thing
    # (build isolation, requests from the index), exactly as on a GitHub runner.
    env = {"FLAKEGATE_ACTION_VENV_ARGS": "--system-site-packages",
           "FLAKEGATE_ACTION_PIP_ARGS": "--no-deps --no-build-isolation --no-index"} \
        if offline else {}
    harness = Harness(tmp_path / "runner", python=None, action_dir=checkout / "action")
    write_junit(tmp_path / "runner" / "workspace", "junit.xml", [("a", "passed")])
    inputs = {"server-url": live.url, "token": live.admin_token, "job": "installed",
              "run-id": "1", "junit": "junit.xml", "status": "success"}
    done = harness.run(inputs, env=env)
    assert done.exit_code == 0, done.log
    venv = tmp_path / "runner" / "temp" / "flakegate-client"
    assert done.step_outputs["install"]["python"] == str(venv / "bin" / "python")
    assert (venv / ".flakegate-installed").read_text().strip() == str(checkout)
    assert client.get_run("installed", "1").counts.total == 1
    # The client came from the venv, not from this checkout or the test's environment.
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import client; print(client.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert where.stdout.startswith(str(venv))
    again = harness.run({**inputs, "run-id": "2"}, env=env)  # the venv is reused
    assert again.exit_code == 0, again.log
    assert "Successfully installed" not in again.log
