"""``flakegate baseline compute|show``: through the API (``--url``) on any install, or on a
local store (``--db``) when the server extra is installed.

The commands live here so that a client-only install has them; the server's
:func:`api.commands.register` calls :func:`register` too and sets a ``local`` backend on each
parser (a function of the parsed arguments returning what the API would). Which one runs:
``--db`` given → the local store; else ``--url`` or ``$FLAKEGATE_URL`` → the API; else the
local store of ``$FLAKEGATE_DATABASE`` (server installs only).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from client import errors, extras
from client.cli_support import (
    add_connection_flags,
    add_format_flag,
    duration,
    make_client,
    output_format,
    print_json,
)
from client.exit_status import ExitStatus
from client.table import plural, render_table

Summary = dict[str, Any]


def _local(args: argparse.Namespace) -> Callable[..., Any] | None:
    """The local backend to use, or None for the API."""
    if not args.db and (args.url or os.environ.get("FLAKEGATE_URL")):
        return None
    local: Callable[..., Any] | None = getattr(args, "local", None)
    if local is None:
        if args.db:
            raise errors.CommandError(
                f"--db needs the server extra ({extras.install_hint('server')}); "
                "or use the API: --url URL")
        return None  # make_client says: pass --url or set FLAKEGATE_URL
    return local


def _version_line(summary: Summary) -> str:
    prior = summary.get("prior") or {}
    return (f"{summary['job']}: baseline v{summary['version']} from "
            f"{plural(summary['runs'], 'run')}, {plural(summary['tests'], 'test')}, prior "
            f"Beta({prior.get('alpha', 0):.3g}, {prior.get('beta', 0):.3g})")


def _compute_once(args: argparse.Namespace) -> list[Summary]:
    local = _local(args)
    if local is not None:
        return list(local(args, None if args.all else args.job))
    with make_client(args) as client:
        jobs = [job.name for job in client.list_jobs()] if args.all else [args.job]
        return [client.compute_baseline(job, window_days=args.window_days,
                                        max_runs=args.max_runs,
                                        exclude_payload=args.exclude_payload) for job in jobs]


def _compute(args: argparse.Namespace) -> int:
    if not args.all and not args.job:
        raise errors.CommandError("name a JOB or pass --all")
    as_json = output_format(args) == "json"
    while True:
        for summary in _compute_once(args):
            if as_json:
                print_json(summary)
            else:
                print(_version_line(summary), flush=True)
        if args.every is None:
            return ExitStatus.OK
        sys.stdout.flush()
        time.sleep(args.every)


def _test_label(test: Summary) -> str:
    name = f"{test['suite']} :: {test['name']}" if test.get("suite") else str(test["name"])
    return name + (" (latched)" if test.get("latched") else "")


def _show(args: argparse.Namespace) -> int:
    local = _local(args)
    if local is not None:
        summary, tests = local(args)
    else:
        with make_client(args) as client:
            summary, tests = client.get_baseline(args.job, version=args.version)
    worst = sorted(tests, key=lambda test: (test["pass_rate"], test["name"]))
    if args.top:
        worst = worst[: args.top]
    if output_format(args) == "json":
        print_json({"baseline": summary, "tests": worst})
        return ExitStatus.OK
    created = str(summary.get("created_at") or "")[:16].replace("T", " ")
    print(f"{summary['job']} baseline v{summary['version']}: {plural(summary['runs'], 'run')}, "
          f"{plural(summary['tests'], 'test')}, window {summary['window_days']} days / "
          f"{summary['max_runs']} runs, latch {'on' if summary.get('latch') else 'off'}, "
          f"computed {created}Z")
    rows = [(f"{test['pass_rate']:.2%}", test["runs"], test["flakes"], _test_label(test))
            for test in worst]
    sys.stdout.write(render_table(("PASS RATE", "RUNS", "FLAKES", "TEST"), rows,
                                  right=("PASS RATE", "RUNS", "FLAKES")))
    return ExitStatus.OK


def _positive(text: str) -> float:
    seconds = duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("a duration must be positive")
    return seconds


def _db_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=None,
                        help="work on this store instead of a server (a URL or a path to a "
                             "SQLite file; needs the server extra; default with no --url: "
                             "$FLAKEGATE_DATABASE)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
             ) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Add ``baseline compute`` and ``baseline show``; returns their parsers (the server
    sets their ``local`` backend)."""
    baseline = subparsers.add_parser(
        "baseline", help="per-test baselines: compute a version, show one",
        description="Through the API with --url (or $FLAKEGATE_URL), or on a store with --db "
                    "(server extra).")
    sub = baseline.add_subparsers(dest="baseline_command", metavar="ACTION")
    sub.required = True
    compute = sub.add_parser("compute", help="compute a new baseline version")
    compute.add_argument("job", nargs="?", help="the job (or --all)")
    compute.add_argument("--all", action="store_true", help="every job")
    compute.add_argument("--window-days", type=int, default=None)
    compute.add_argument("--max-runs", type=int, default=None)
    compute.add_argument("--exclude-payload", default=None)
    compute.add_argument("--every", type=_positive, default=None, metavar="DURATION",
                         help="repeat on this schedule until interrupted")
    show = sub.add_parser("show", help="show a baseline's least stable tests")
    show.add_argument("job")
    show.add_argument("--version", type=int, default=None, metavar="N",
                      help="this baseline version (default: the newest)")
    show.add_argument("--top", type=int, default=20, help="how many tests to list (0: all)")
    # compute writes a log line (often from cron, which is no terminal): text unless asked.
    for parser, handler, default in ((compute, _compute, "text"), (show, _show, "auto")):
        _db_flag(parser)
        add_format_flag(parser, default=default)
        add_connection_flags(parser)
        parser.set_defaults(handler=handler)
    return compute, show
