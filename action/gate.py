"""The flakegate GitHub Action's work, run with the Python of the action's own venv.

Reads the action's inputs from ``INPUT_*`` variables (set by action.yml), uploads the run's
JUnit files, waits for the payload's verdict, and reports through the runner's files and
workflow commands: outputs to ``$GITHUB_OUTPUT``, the server's Markdown rendering of the
verdict as the summary in ``$GITHUB_STEP_SUMMARY``, at most ten ``::error`` annotations. The
exit status (:class:`~client.exit_status.ExitStatus`, as for ``flakegate verdict``) fails the
step according to ``fail-on``.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from client import errors
from client.api import Client, segment
from client.ci_env import detect
from client.cli_support import announce_retry, record_run, run_fields
from client.durations import format_duration, parse_duration
from client.exit_status import ExitStatus
from client.models import RUN_STATUSES, Verdict
from client.render import regression_line
from client.upload import split_patterns

#: GitHub refuses a step summary over 1 MiB (and shows none of it); keep a margin for the
#: upload lines written before the verdict.
SUMMARY_LIMIT = 1024 * 1024 - 8 * 1024
MAX_ANNOTATIONS = 10
CELL_MAX = 300  # characters of a name quoted in the summary: a test name can be kilobytes
FAIL_ON = ("regression", "pending", "never")
TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")
#: GitHub's own words for a job's outcome (job.status, needs.<job>.result), so that
#: ``status: ${{ job.status }}`` just works.
STATUS_ALIASES = {"cancelled": "aborted", "canceled": "aborted"}


class InputProblem(Exception):
    pass


# -- workflow commands and runner files -----------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> None:
    props = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    print(f"::{name}{' ' + props if props else ''}::{_escape_data(message)}", flush=True)


def set_output(name: str, value: str) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        print(f"{name}={value}")  # outside a runner: show it rather than lose it
        return
    # The multi-line form with a random delimiter: no value can end the block early.
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def cell(text: object) -> str:
    """Text safe inside Markdown code or a table cell: one line, no column breaks, no HTML."""
    value = " ".join(str(text).split())
    if len(value) > CELL_MAX:
        value = value[:CELL_MAX - 1] + "…"
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("`", "\\`"))


def add_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    summary = Path(path)
    used = summary.stat().st_size if summary.exists() else 0
    data = markdown.encode()
    room = SUMMARY_LIMIT - used
    if room <= 0:
        return
    if len(data) > room:
        markdown = data[:room - 64].decode(errors="ignore") + "\n\n_(summary truncated)_\n"
    with summary.open("a", encoding="utf-8") as out:
        out.write(markdown)


# -- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    server_url: str
    token: str | None
    job: str
    run_id: str
    payload: str
    junit: list[str]
    status: str
    wait: bool
    timeout: float
    poll: float
    policy: str | None
    fail_on: str
    fail_open: bool
    retries: int
    # -- GitHub publications (issue 14): posted with the workflow's token --
    comment: bool = False
    check_run: bool = False
    commit_status: bool = False
    github_token: str = ""
    sha: str = ""
    pull_requests: tuple[int, ...] = ()
    comment_author: str = "github-actions[bot]"  # whose marked comment is flakegate's

    @property
    def posts(self) -> bool:
        return self.comment or self.check_run or self.commit_status


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise InputProblem(f"input {name} must be true or false, got {raw!r}")


def _seconds(name: str, raw: str) -> float:
    try:
        return parse_duration(raw)
    except ValueError as err:
        raise InputProblem(f"input {name}: {err}") from None


def read_inputs(env: dict[str, str]) -> Inputs:
    def get(name: str) -> str:
        return env.get(f"INPUT_{name}", "").strip()

    fail_on = get("FAIL_ON").lower() or "regression"
    if fail_on not in FAIL_ON:
        raise InputProblem(f"input fail-on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    status = get("STATUS").lower()
    status = STATUS_ALIASES.get(status, status)
    if status and status not in RUN_STATUSES:
        raise InputProblem(f"input status must be one of {', '.join(RUN_STATUSES)}, "
                           f"got {status!r}")
    server_url = env.get("FLAKEGATE_URL", "").strip()
    if not server_url:
        raise InputProblem("input server-url is required")
    try:
        retries = int(env.get("FLAKEGATE_RETRIES") or "7")
    except ValueError:
        raise InputProblem("FLAKEGATE_RETRIES must be an integer") from None
    return Inputs(
        server_url=server_url, token=env.get("FLAKEGATE_TOKEN", "").strip() or None,
        job=get("JOB"), run_id=get("RUN_ID"), payload=get("PAYLOAD"),
        junit=split_patterns([env.get("INPUT_JUNIT", "")]), status=status,
        wait=_flag("wait", get("WAIT")), timeout=_seconds("timeout", get("TIMEOUT") or "2h"),
        poll=_seconds("poll", get("POLL") or "30s") or 30.0, policy=get("POLICY") or None,
        fail_on=fail_on, fail_open=_flag("fail-open", get("FAIL_OPEN")), retries=retries,
        comment=_flag("comment", get("COMMENT")), check_run=_flag("check-run", get("CHECK_RUN")),
        commit_status=_flag("commit-status", get("COMMIT_STATUS")),
        github_token=get("GITHUB_TOKEN"), sha=get("SHA"),
        pull_requests=_numbers("pull-request", get("PULL_REQUEST")),
        comment_author=get("COMMENT_AUTHOR") or "github-actions[bot]",
    )


def _numbers(name: str, raw: str) -> tuple[int, ...]:
    words = raw.replace(",", " ").split()
    if not all(word.isdigit() for word in words):
        raise InputProblem(f"input {name} must be pull request numbers, got {raw!r}")
    return tuple(int(word) for word in words)


# -- the gate -------------------------------------------------------------------------------


def _upload(client: Client, inputs: Inputs, env: dict[str, str]) -> None:
    fields = run_fields(env, job=inputs.job, run_id=inputs.run_id, payload=inputs.payload)
    recorded = record_run(client, fields, inputs.junit, inputs.status or None)
    result = recorded.upload
    print(f"flakegate: run {fields.run_id} of job {fields.job}: {recorded.run.status}, "
          f"{len(result.files)} files ({result.added} new), {result.tests} tests")
    add_summary(f"flakegate: recorded run `{cell(fields.run_id)}` of job `{cell(fields.job)}` "
                f"({recorded.run.status}): {len(result.files)} JUnit files, {result.tests} "
                "tests.\n\n")
    if inputs.junit and not result.files:
        raise errors.InputError("no JUnit file matched the junit input (the run was recorded)")


def _wait(client: Client, inputs: Inputs, payload: str) -> tuple[Verdict | None, bool]:
    """The verdict, and whether it is final (False: still pending at the timeout)."""
    last_state: list[str] = []

    def report(latest: Verdict | None, waited: float) -> None:
        state = "payload not known yet" if latest is None else ", ".join(
            f"{job.job} {job.runs.finished}/{job.runs.expected or '?'}"
            for job in latest.jobs if job.verdict == "pending") or "pending"
        if not last_state or last_state[-1] != state:
            last_state.append(state)
            print(f"flakegate: {payload}: waiting ({state}) after {format_duration(waited)}",
                  flush=True)

    try:
        return client.wait_for_verdict(payload, inputs.timeout, inputs.poll,
                                       policy=inputs.policy, on_poll=report), True
    except errors.VerdictPending as pending:
        return pending.verdict, False


def _report(verdict: Verdict | None, markdown: str | None, payload: str, report_url: str,
            final: bool) -> None:
    """Outputs, summary and annotations; ``markdown`` is the server's rendering of
    ``verdict``, the same text as the report link (None when there is no verdict)."""
    regressions = verdict.regressions if verdict else []
    set_output("verdict", verdict.verdict if verdict else "pending")
    set_output("regressions", str(len(regressions)))
    set_output("report-url", report_url)
    if markdown is not None:
        add_summary(f"{markdown.rstrip()}\n\n[full report]({report_url})\n")
    else:
        add_summary(f"## ⏳ flakegate: payload `{cell(payload)}` has no verdict yet\n")
    for warning in verdict.warnings if verdict else ():
        # The summary shows them too (the server's Markdown); the annotation makes a pass
        # without a baseline visible on the run's page.
        command("warning", warning.message, title=f"flakegate: {warning.code or 'warning'}")
    for job, item in regressions[:MAX_ANNOTATIONS]:
        command("error", regression_line(job, item), title=f"flakegate regression in {job}")
    if len(regressions) > MAX_ANNOTATIONS:
        command("notice", f"{len(regressions) - MAX_ANNOTATIONS} more regressions: see the job "
                          f"summary or {report_url}", title="flakegate")
    if not final:
        command("warning", f"payload {payload} is still pending at the timeout",
                title="flakegate")


def _post(client: Client, inputs: Inputs, env: dict[str, str], payload: str) -> None:
    """The comment, check run and statuses the server renders, posted with the workflow's
    token. A refusal (missing permission, a fork's read-only token) warns: the verdict, not
    the publication, decides the step."""
    from client.github_publish import GitHubPoster, GitHubPostError, commit_to_publish, publish

    sha, repository = commit_to_publish(env, inputs.sha), env.get("GITHUB_REPOSITORY", "")
    if not (inputs.github_token and sha and repository):
        command("warning", "comment/check-run/commit-status need github-token, the commit and"
                " GITHUB_REPOSITORY", title="flakegate")
        return
    poster = GitHubPoster(env.get("GITHUB_API_URL") or "https://api.github.com",
                          inputs.github_token, repository, author=inputs.comment_author)
    try:
        done = publish(poster, client.get_github_rendering(payload), sha,
                       comment=inputs.comment, check_run=inputs.check_run,
                       commit_status=inputs.commit_status, pulls=inputs.pull_requests)
    except (GitHubPostError, OSError) as err:
        command("warning", f"could not publish on GitHub: {err}", title="flakegate")
        return
    for line in done:
        print(f"flakegate: {line}")


def decide(verdict: str, fail_on: str) -> int:
    if fail_on == "never":
        return ExitStatus.OK
    if verdict == "fail":
        return ExitStatus.REGRESSION
    if verdict == "pending" and fail_on == "pending":
        return ExitStatus.PENDING
    return ExitStatus.OK


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    try:
        inputs = read_inputs(env)
    except InputProblem as err:
        command("error", str(err), title="flakegate")
        return ExitStatus.ERROR
    try:
        with Client(inputs.server_url, inputs.token, retries=inputs.retries,
                    on_retry=announce_retry) as client:
            if inputs.junit or inputs.status:
                _upload(client, inputs, env)
            payload = inputs.payload or detect(env).payload
            if not inputs.wait:
                if inputs.posts and payload:
                    _post(client, inputs, env, payload)
                set_output("verdict", "")
                set_output("regressions", "0")
                set_output("report-url", "")
                return ExitStatus.OK
            if not payload:
                raise errors.InputError("input payload is required outside GitHub Actions")
            # The payload's page (issue 15; api.pages_urls.payload_page, which the action,
            # installed without the server package, cannot import: tests keep them equal).
            report_url = f"{client.base_url}/ui/payloads/{segment(payload)}"
            verdict, final = _wait(client, inputs, payload)
            markdown = None
            if verdict is not None:
                if verdict.raw.get("report_url"):
                    report_url = str(verdict.raw["report_url"])
                markdown = client.get_verdict(payload, policy=inputs.policy, format="markdown")
            if inputs.posts:
                _post(client, inputs, env, payload)
    except errors.FlakegateError as err:
        message = err.describe()
        if inputs.fail_open and err.unavailable:
            command("warning", f"{message}; fail-open: not blocking", title="flakegate")
            set_output("verdict", "unavailable")
            set_output("regressions", "0")
            set_output("report-url", "")
            add_summary(f"⚠️ flakegate was unavailable ({cell(message)}); fail-open let "
                        "this step pass.\n")
            return ExitStatus.OK
        command("error", message, title="flakegate")
        return ExitStatus.ERROR
    _report(verdict, markdown, payload, report_url, final)
    state = verdict.verdict if verdict else "pending"
    print(f"flakegate: payload {payload}: {state} (fail-on {inputs.fail_on})")
    return decide(state, inputs.fail_on)


if __name__ == "__main__":
    sys.exit(main())
