"""Runs ``action/action.yml`` the way the GitHub runner runs a composite action.

The harness parses the YAML, resolves the ``${{ inputs.* }}``, ``${{ github.* }}``,
``${{ runner.* }}``, ``${{ env.* }}`` and ``${{ steps.<id>.outputs.* }}`` expressions, and runs
each ``run:`` step with its ``shell:`` (bash as ``bash --noprofile --norc -eo pipefail FILE``) and
``env:``, a fresh ``$GITHUB_OUTPUT`` file per step, and the job-wide ``$GITHUB_ENV``,
``$GITHUB_STEP_SUMMARY`` and ``$RUNNER_TEMP``. It stops at the first failing step, as the runner
does, then resolves the action's outputs. Workflow commands on stdout (``::add-mask::``,
``::error``...) are collected, and masked values are blanked in the recorded log.

Anything the action uses that the harness does not understand (another expression, ``uses:``,
``if:``, another shell) fails the test: the action must stay within what is verified here.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from client.api import Client
from client.retry import Backoff
from tests.live_server import LiveServer
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
ACTION_DIR = ROOT / "action"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
COMMAND = re.compile(r"^::([a-z-]+)(?: ([^:]*))?::(.*)$")
STEP_KEYS = {"name", "id", "shell", "run", "env", "working-directory"}
_run_ids = itertools.count(1)


@dataclass
class Command:
    name: str
    properties: dict[str, str]
    message: str


@dataclass
class ActionRun:
    exit_code: int  # of the first failing step, 0 if every step passed
    failed_step: str | None
    outputs: dict[str, str]
    step_outputs: dict[str, dict[str, str]]
    log: str  # stdout and stderr of all steps, masked
    commands: list[Command]
    masks: list[str]
    summary: str
    raw_stdout: str = field(repr=False)

    def annotations(self, kind: str) -> list[Command]:
        return [command for command in self.commands if command.name == kind]


def _unescape(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":") \
        .replace("%2C", ",").replace("%25", "%")


def _parse_commands(stdout: str) -> list[Command]:
    found = []
    for line in stdout.splitlines():
        match = COMMAND.match(line)
        if match:
            props = {}
            for pair in (match.group(2) or "").split(","):
                if "=" in pair:
                    key, _, value = pair.partition("=")
                    props[key.strip()] = _unescape(value)
            found.append(Command(match.group(1), props, _unescape(match.group(3))))
    return found


def parse_file_commands(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` / ``$GITHUB_ENV`` syntax: ``name=value`` or ``name<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            block = []
            while lines[index] != delimiter:
                block.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(block)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


class Harness:
    def __init__(self, workdir: Path, *, python: str | None,
                 action_dir: Path = ACTION_DIR) -> None:
        self.workdir = workdir
        self.python = python
        self.action_dir = action_dir
        self.manifest: dict[str, Any] = yaml.safe_load((action_dir / "action.yml").read_text())
        assert self.manifest["runs"]["using"] == "composite"

    def github_env(self, overrides: Mapping[str, str]) -> dict[str, str]:
        run_id = str(900000 + next(_run_ids))
        env = {
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/widgets",
            "GITHUB_WORKFLOW": "ci", "GITHUB_JOB": "e2e", "GITHUB_RUN_ID": run_id,
            "GITHUB_RUN_ATTEMPT": "1", "GITHUB_SHA": uuid.uuid4().hex + "abcdef01",
            "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REF": "refs/heads/main",
            "GITHUB_EVENT_NAME": "push", "GITHUB_WORKSPACE": str(self.workdir / "workspace"),
            "GITHUB_ACTION_PATH": str(self.action_dir), "RUNNER_TEMP": str(self.workdir / "temp"),
            "RUNNER_OS": "Linux",
        }
        env.update(overrides)
        return env

    def _base_env(self, github: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("GITHUB_", "RUNNER_", "INPUT_", "FLAKEGATE_", "CI_"))
               and key not in ("CI", "GITLAB_CI", "CIRCLECI", "PROW_JOB_ID", "JENKINS_URL")}
        env.update(github)
        if self.python:
            env["FLAKEGATE_ACTION_PYTHON"] = self.python
            # The override Python runs the client from this checkout, as the venv would.
            env["PYTHONPATH"] = str(ROOT)
        env.update(extra)
        return env

    def _inputs(self, given: Mapping[str, str]) -> dict[str, str]:
        declared = self.manifest.get("inputs") or {}
        unknown = set(given) - set(declared)
        assert not unknown, f"inputs not declared in action.yml: {unknown}"
        inputs = {}
        for name, spec in declared.items():
            if name in given:
                inputs[name] = str(given[name])
            elif spec.get("required") and "default" not in spec:
                raise AssertionError(f"required input {name} not given")
            else:
                inputs[name] = str(spec.get("default", ""))
        return inputs

    @staticmethod
    def evaluate(text: str, contexts: Mapping[str, Any]) -> str:
        def resolve(match: re.Match[str]) -> str:
            path = match.group(1)
            parts = path.split(".")
            if parts[0] in ("inputs", "github", "runner", "env") and len(parts) == 2:
                return str(contexts[parts[0]].get(parts[1], ""))
            if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
                return contexts["steps"].get(parts[1], {}).get(parts[3], "")
            raise AssertionError(f"the harness does not evaluate ${{{{ {path} }}}}")

        return EXPRESSION.sub(resolve, text)

    def run(self, inputs: Mapping[str, str], *, github: Mapping[str, str] | None = None,
            env: Mapping[str, str] | None = None, timeout: float = 600) -> ActionRun:
        github_env = self.github_env(github or {})
        for folder in ("GITHUB_WORKSPACE", "RUNNER_TEMP"):
            Path(github_env[folder]).mkdir(parents=True, exist_ok=True)
        files = self.workdir / f"files-{next(_run_ids)}"
        files.mkdir(parents=True)
        summary, env_file = files / "step_summary.md", files / "env"
        for runner_file in (summary, env_file, files / "path"):
            runner_file.touch()
        job_env = self._base_env(github_env, env or {})
        job_env.update(GITHUB_STEP_SUMMARY=str(summary), GITHUB_ENV=str(env_file),
                       GITHUB_PATH=str(files / "path"))
        contexts: dict[str, Any] = {
            "inputs": self._inputs(inputs),
            "github": {key[len("GITHUB_"):].lower(): value for key, value in github_env.items()
                       if key.startswith("GITHUB_")},
            "runner": {"temp": github_env["RUNNER_TEMP"], "os": github_env["RUNNER_OS"]},
            "env": job_env, "steps": {},
        }
        # The runner evaluates expressions in input defaults (e.g. ${{ github.token }}),
        # never in the values a workflow gave.
        contexts["inputs"] = {name: value if name in inputs else self.evaluate(value, contexts)
                              for name, value in contexts["inputs"].items()}
        stdout_all, log, exit_code, failed = [], [], 0, None
        for number, step in enumerate(self.manifest["runs"]["steps"]):
            unknown = set(step) - STEP_KEYS
            assert not unknown, f"step keys the harness does not run: {unknown}"
            assert step.get("shell") == "bash", "composite run steps must name shell: bash"
            output_file = files / f"output-{number}"
            output_file.touch()
            step_env = {**job_env, **parse_file_commands(env_file.read_text()),
                        "GITHUB_OUTPUT": str(output_file)}
            for key, value in (step.get("env") or {}).items():
                step_env[key] = self.evaluate(str(value), contexts)
            script = files / f"step-{number}.sh"
            script.write_text(self.evaluate(step["run"], contexts))
            cwd = self.evaluate(step.get("working-directory", ""), contexts) or \
                github_env["GITHUB_WORKSPACE"]
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=cwd, env=step_env, capture_output=True, text=True, timeout=timeout)
            stdout_all.append(done.stdout)
            log.append(done.stdout + done.stderr)
            if "id" in step:
                contexts["steps"][step["id"]] = parse_file_commands(output_file.read_text())
            if done.returncode != 0:
                exit_code, failed = done.returncode, step.get("id") or step.get("name")
                break
        raw_stdout = "".join(stdout_all)
        commands = _parse_commands(raw_stdout)
        masks = [command.message for command in commands if command.name == "add-mask"]
        masked_log = "".join(log)
        for secret in masks:
            if secret:
                masked_log = masked_log.replace(secret, "***")
        outputs = {name: self.evaluate(str(spec.get("value", "")), contexts)
                   for name, spec in (self.manifest.get("outputs") or {}).items()}
        return ActionRun(exit_code=exit_code, failed_step=failed, outputs=outputs,
                         step_outputs=dict(contexts["steps"]), log=masked_log,
                         commands=commands, masks=masks, summary=summary.read_text(),
                         raw_stdout=raw_stdout)


RunAction = Callable[..., ActionRun]


@pytest.fixture
def run_action(tmp_path: Path) -> RunAction:
    """Run the action with the test venv's Python standing in for the action's own venv."""
    harness = Harness(tmp_path, python=sys.executable)
    return harness.run


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("action-live") / "flakegate.db"
    server = LiveServer(
        f"sqlite:///{database}", "fg_action-tests-admin-long-enough-for-the-32-char-rule",
        workers=2).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(live: LiveServer) -> Iterator[Client]:
    with Client(live.url, live.admin_token, backoff=Backoff(base=0.001, cap=0.01)) as made:
        yield made


@pytest.fixture
def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"
