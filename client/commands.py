"""Client subcommands of ``flakegate``: upload, run start|finish, verdict, jobs, runs.

Exit codes (:class:`~client.exit_status.ExitStatus`): 0 success or a passing verdict,
1 regression, 2 usage, transport or API error, 3 verdict still pending at the timeout.
With ``--fail-open`` an unreachable or failing server is a warning and exit 0 (see
:mod:`client.cli`, which turns every error into its exit code).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TypeVar

from client import baseline, disruption, errors, historical, patterns
from client.api import Client
from client.ci_env import detect
from client.cli_support import (
    RunFields,
    add_connection_flags,
    add_format_flag,
    add_run_flags,
    duration,
    make_client,
    output_format,
    print_json,
    record_run,
    resolve_run_fields,
    save_run,
)
from client.durations import format_duration, parse_duration
from client.exit_status import ExitStatus
from client.models import FINAL_RUN_STATUSES, Run, Verdict
from client.render import render_json, render_text, warning_lines
from client.table import plural, render_table
from client.upload import DEFAULT_BATCH_BYTES, log_body, log_spec, split_patterns

T = TypeVar("T")
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20,
               "mib": 1 << 20}


def _size(text: str) -> int:
    value = text.strip().lower()
    digits = value.rstrip("abikm")
    unit = value[len(digits):]
    if not digits.isdigit() or unit not in _SIZE_UNITS or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 8MiB, 512k, 1000000)")
    return int(digits) * _SIZE_UNITS[unit]


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


class _Progress:
    """A single self-rewriting status line on a terminal; silent when stderr is not one, so
    CI logs and pipes stay clean."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, files: int, sent: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\rflakegate: uploaded {plural(files, 'file')}, {_mib(sent)}")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


# -- upload -------------------------------------------------------------------------------------


def _upload(args: argparse.Namespace) -> int:
    fields = resolve_run_fields(args)
    patterns = split_patterns([*args.patterns, *args.junit])
    logs = [log_spec(value) for value in args.log]  # a bad --log fails before any request
    with make_client(args) as client:
        progress = _Progress()
        recorded = record_run(client, fields, patterns, args.status,
                              max_bytes=args.batch_bytes, keep_pending=args.keep_pending,
                              on_progress=progress)
        progress.done()
        # After the run has its final status, so a scan on arrival sees a failed run as such.
        stored = [{"step": step, **client.put_log(fields.job, fields.run_id, step,
                                                  log_body(path))} for step, path in logs]
    run, result = recorded.run, recorded.upload
    if output_format(args) == "json":
        print_json({"job": fields.job, "run_id": fields.run_id, "payload": run.payload,
                    "status": run.status, "files": len(result.files), "added": result.added,
                    "already_present": result.already_present, "tests": result.tests,
                    "requests": result.requests, "bytes_sent": result.bytes_sent,
                    "unmatched": recorded.unmatched,
                    "logs": [{key: log.get(key) for key in ("step", "outcome", "lines", "size",
                                                            "truncated")} for log in stored]})
    else:
        print(f"run {fields.run_id!r} of job {fields.job!r} ({run.status}, payload "
              f"{run.payload or '-'}): {plural(len(result.files), 'file')} ({result.added} new, "
              f"{result.already_present} already there), {plural(result.tests, 'test')}, "
              f"{plural(result.requests, 'request')}, {_mib(result.bytes_sent)} sent")
        for log in stored:
            print(f"log of step {log['step']!r}: {log.get('outcome')}, "
                  f"{plural(int(log.get('lines') or 0), 'line')}"
                  + (" (head and tail kept: over the server's limit)"
                     if log.get("truncated") else ""))
    if not result.files and not args.allow_no_files and not logs:
        print("flakegate: error: no JUnit file matched (the run was recorded); pass "
              "--allow-no-files if that is expected", file=sys.stderr)
        return ExitStatus.ERROR
    return ExitStatus.OK


# -- run start / finish ---------------------------------------------------------------------------


def _print_run(args: argparse.Namespace, run: Run) -> None:
    if output_format(args) == "json":
        print_json(run)
    else:
        print(f"run {run.run_id!r} of job {run.job!r}: {run.status}, payload "
              f"{run.payload or '-'}, {plural(run.counts.total, 'test')}")


def _run_start(args: argparse.Namespace) -> int:
    fields = resolve_run_fields(args)
    if fields.started_at is None:
        fields = RunFields(**{**vars(fields), "started_at": datetime.now(UTC)})
    with make_client(args) as client:
        _print_run(args, save_run(client, fields, "pending"))
    return ExitStatus.OK


def _run_finish(args: argparse.Namespace) -> int:
    fields = resolve_run_fields(args)
    with make_client(args) as client:
        _print_run(args, save_run(client, fields, args.status))
    return ExitStatus.OK


def _run_delete(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        client.delete_run(args.job, args.run_id, reason=args.reason)
    print(f"run {args.run_id!r} of job {args.job!r} deleted")
    return ExitStatus.OK


# -- verdict ------------------------------------------------------------------------------------


def _show_verdict(args: argparse.Namespace, client: Client, verdict: Verdict) -> None:
    # Warnings (e.g. no baseline) go to stderr in every format, so a pass is never silent
    # while --format json output on stdout stays the body as the server sent it.
    for line in warning_lines(verdict):
        print(line, file=sys.stderr)
    chosen = output_format(args)
    if chosen == "json":
        sys.stdout.write(render_json(verdict))
    elif chosen == "markdown":
        # The server's own rendering: the same text as the report link and the action's
        # job summary, not a second Markdown table kept in step by hand.
        sys.stdout.write(client.get_verdict(verdict.payload, policy=args.policy,
                                            format="markdown"))
    else:
        sys.stdout.write(render_text(verdict))


def _verdict(args: argparse.Namespace) -> int:
    payload = args.payload or detect(os.environ).payload
    if not payload:
        raise errors.InputError("give the payload id (no CI system detected that provides it)")
    with make_client(args) as client:
        if not args.wait:
            verdict = client.get_verdict(payload, policy=args.policy)
        else:
            seen: list[str] = []

            def report(latest: Verdict | None, waited: float) -> None:
                # One line per change of state, not per poll: a 2-hour wait stays readable.
                state = ("unknown to the server: no run has reported it yet" if latest is None
                         else _pending_state(latest))
                if not seen or seen[-1] != state:
                    seen.append(state)
                    print(f"flakegate: {payload}: {state} after {format_duration(waited)}",
                          file=sys.stderr)

            try:
                verdict = client.wait_for_verdict(payload, args.timeout, args.poll,
                                                  policy=args.policy, on_poll=report)
            except errors.VerdictPending as pending:
                if pending.verdict is not None:
                    _show_verdict(args, client, pending.verdict)
                print(f"flakegate: {pending}", file=sys.stderr)
                return ExitStatus.PENDING
        _show_verdict(args, client, verdict)
    return {"pass": ExitStatus.OK, "fail": ExitStatus.REGRESSION}.get(verdict.verdict,
                                                                       ExitStatus.PENDING)


def _pending_state(verdict: Verdict) -> str:
    waiting = [f"{job.job} {job.runs.finished}/{job.runs.expected or '?'}"
               for job in verdict.jobs if job.verdict == "pending"]
    return "pending (" + (", ".join(waiting) or "no runs yet") + ")"


# -- jobs / runs ----------------------------------------------------------------------------------


def _limited(items: Iterator[T], limit: int) -> Iterator[T]:
    return itertools.islice(items, limit) if limit else items


def _jobs(args: argparse.Namespace) -> int:
    as_json = output_format(args) == "json"
    rows = []
    with make_client(args) as client:
        for job in _limited(client.list_jobs(), args.limit):
            if as_json:
                print_json(job)  # one object per line, as it arrives: a pipe sees no wait
                continue
            variant = ",".join(f"{k}={v}" for k, v in sorted(job.variant.items()))
            rows.append((job.name, job.policy, job.expected_runs, variant))
    if not as_json:
        # A table needs every row for its widths; text is for people, who list few jobs.
        sys.stdout.write(render_table(("JOB", "POLICY", "EXPECTED RUNS", "VARIANT"), rows,
                                      right=("EXPECTED RUNS",)))
    return ExitStatus.OK


def _runs(args: argparse.Namespace) -> int:
    as_json = output_format(args) == "json"
    rows = []
    with make_client(args) as client:
        runs = client.list_runs(args.job, payload=args.payload, status=args.status)
        for run in _limited(runs, args.limit):
            if as_json:
                print_json(run)
                continue
            started = f"{run.started_at:%Y-%m-%d %H:%M}" if run.started_at else None
            rows.append((run.run_id, run.status, run.payload, started, run.counts.total,
                         run.counts.failed + run.counts.errors, run.url))
    if not as_json:
        sys.stdout.write(render_table(
            ("RUN", "STATUS", "PAYLOAD", "STARTED (UTC)", "TESTS", "FAILED", "URL"), rows,
            right=("TESTS", "FAILED")))
    return ExitStatus.OK


# -- registration -------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    if "baseline" not in subparsers.choices:  # the server's register added it, with --db
        baseline.register(subparsers)
    disruption.register(subparsers)  # SPEC §9: client/disruption.py
    patterns.register(subparsers)  # patterns: scan, patterns import|export (client/patterns.py)
    historical.register(subparsers)  # SPEC §9: analyze-historical-data (client/historical.py)
    upload = subparsers.add_parser(
        "upload", help="record a run and attach its JUnit files",
        description="PUT the run, then POST the JUnit files matching the patterns "
                    "(gzip-compressed, several per request, requests under --batch-bytes).")
    upload.add_argument("patterns", nargs="*", metavar="GLOB",
                        help="JUnit files: globs (** recurses), files or folders (every *.xml "
                             "below); also newline-separated")
    upload.add_argument("--junit", action="append", default=[], metavar="GLOB",
                        help="another pattern (repeatable)")
    upload.add_argument("--status", choices=(*FINAL_RUN_STATUSES, "pending"),
                        help="the run's status, set once every file is attached (default: "
                             "keep the stored status; pending for a new run)")
    upload.add_argument("--batch-bytes", type=_size, default=DEFAULT_BATCH_BYTES,
                        metavar="SIZE", help="compressed bytes per request (default 8MiB)")
    upload.add_argument("--allow-no-files", action="store_true",
                        help="exit 0 when no file matched (the run is recorded either way)")
    upload.add_argument("--log", action="append", default=[], metavar="STEP=PATH",
                        help="also send PATH as the build log of step STEP (repeatable; "
                             "gzip-compressed on the wire), once the run is recorded; with a "
                             "log, no JUnit file is no error")
    upload.add_argument("--keep-pending", action="store_true",
                        help="if a file cannot be attached (unreadable, or refused by the "
                             "server), leave the run pending instead of recording it as error")
    add_run_flags(upload)
    add_format_flag(upload)
    add_connection_flags(upload)
    upload.set_defaults(handler=_upload)

    run = subparsers.add_parser("run", help="mark a run started or finished, or delete it")
    run_sub = run.add_subparsers(dest="run_command", metavar="ACTION")
    run_sub.required = True
    start = run_sub.add_parser("start", help="PUT the run with status pending")
    add_run_flags(start)
    add_format_flag(start)
    add_connection_flags(start)
    start.set_defaults(handler=_run_start)
    finish = run_sub.add_parser("finish", help="PUT the run with its final status")
    finish.add_argument("--status", choices=FINAL_RUN_STATUSES, required=True)
    add_run_flags(finish)
    add_format_flag(finish)
    add_connection_flags(finish)
    finish.set_defaults(handler=_run_finish)
    # Named explicitly, never taken from the CI environment: a deletion must not guess.
    remove = run_sub.add_parser(
        "delete", help="DELETE the run with its results (admin token; audited)",
        description="Delete a run, e.g. one a failed upload left pending. Needs an admin "
                    "token; the server records who deleted it and why.")
    remove.add_argument("--job", required=True, help="job name")
    remove.add_argument("--run-id", required=True, help="run id")
    remove.add_argument("--reason", help="why (kept in the job's audit log)")
    add_connection_flags(remove)
    remove.set_defaults(handler=_run_delete)

    verdict = subparsers.add_parser(
        "verdict", help="judge a payload: exit 0 pass, 1 regression, 3 pending",
        description="Print the payload's verdict. Exit 0 pass, 1 regression (fail), "
                    "2 error, 3 still pending (at the --timeout with --wait).")
    verdict.add_argument("payload", nargs="?", metavar="PAYLOAD",
                         help="payload id (default: the commit under test, from the CI "
                              "environment)")
    verdict.add_argument("--wait", action="store_true",
                         help="poll until the verdict is pass or fail")
    verdict.add_argument("--timeout", type=duration, default=parse_duration("2h"),
                         metavar="DURATION", help="give up after this long, retries and "
                                                  "--wait included (default 2h)")
    verdict.add_argument("--poll", type=duration, default=30.0, metavar="DURATION",
                         help="with --wait: time between looks (default 30s)")
    # Text by default, not auto: a verdict is mostly read in a CI log, which is no terminal.
    add_format_flag(verdict, choices=("auto", "text", "json", "markdown"), default="text")
    verdict.add_argument("--policy", choices=("bayes", "aggregator", "stddev"),
                         help="judge with this policy instead of each job's own")
    add_connection_flags(verdict, timeout=False)
    verdict.set_defaults(handler=_verdict)

    jobs = subparsers.add_parser("jobs", help="list jobs")
    jobs.add_argument("--limit", type=int, default=0, help="print at most this many")
    add_format_flag(jobs)
    add_connection_flags(jobs)
    jobs.set_defaults(handler=_jobs)

    runs = subparsers.add_parser("runs", help="list a job's runs, newest first")
    runs.add_argument("job", metavar="JOB")
    runs.add_argument("--payload", help="only runs of this payload")
    runs.add_argument("--status", choices=(*FINAL_RUN_STATUSES, "pending"))
    runs.add_argument("--limit", type=int, default=0, help="print at most this many")
    add_format_flag(runs)
    add_connection_flags(runs)
    runs.set_defaults(handler=_runs)
