"""``flakegate disruption baselines|refresh``: the server's disruption and alert baselines
(SPEC §9) through the API.

``baselines --format origin`` prints the version exactly as the server renders origin's
``query_results.json`` (redirect it into origin's tree to commit it); ``--format text|json``
lists the rows. ``refresh`` asks the server to compute the next version (admin token).
"""

from __future__ import annotations

import argparse
import sys

from client.cli_support import add_connection_flags, make_client, print_json
from client.exit_status import ExitStatus
from client.table import render_table

KINDS = ("disruptions", "alerts")
FILTERS = ("name", "namespace", "level", "release", "from_release", "platform",
           "architecture", "network", "topology")


def _baselines(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        if args.format == "origin":
            # Exactly the server's text (no newline added): the file origin commits.
            sys.stdout.write(client.disruption_baselines_origin(args.kind, version=args.version))
            return ExitStatus.OK
        filters = {name: value for name in FILTERS
                   if (value := getattr(args, name)) is not None}
        summary, rows = client.disruption_baseline_rows(args.kind, version=args.version,
                                                        filters=filters)
    if args.format == "json":
        print_json({"baseline": summary, "items": rows})
        return ExitStatus.OK
    print(f"{args.kind} baselines v{summary.get('version')} ({summary.get('rows')} rows, "
          f"{summary.get('window_days')} days, by {summary.get('actor') or '-'})")
    print(render_table(
        ("name", "release", "from", "platform", "arch", "network", "topology", "runs", "p95",
         "p99"),
        [(row["name"] + (f" {row['namespace']} {row['level']}" if row["namespace"] else ""),
          row["variant"]["release"], row["variant"]["from_release"] or "-",
          row["variant"]["platform"], row["variant"]["architecture"],
          row["variant"]["network"], row["variant"]["topology"], row["job_runs"],
          f"{row['p95']:.2f}", f"{row['p99']:.2f}") for row in rows],
        right=("runs", "p95", "p99")))
    return ExitStatus.OK


def _refresh(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        made = client.compute_disruption_baselines(args.kind, window_days=args.window_days,
                                                   note=args.note)
    if args.format == "json":
        print_json(made)
    else:
        print(f"{made['kind']} baselines v{made['version']}: {made['rows']} rows over "
              f"{made['window_days']} days")
    return ExitStatus.OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "disruption", help="disruption and alert baselines (SPEC §9)",
        description="The server's disruption and alert baselines.")
    commands = parser.add_subparsers(dest="disruption_command", metavar="COMMAND")
    commands.required = True
    show = commands.add_parser(
        "baselines", help="print a baseline version (origin's query_results.json with "
                          "--format origin)")
    show.add_argument("--kind", choices=KINDS, required=True)
    show.add_argument("--version", type=int, default=None, help="default: the newest")
    show.add_argument("--format", choices=("text", "json", "origin"), default="text")
    for name in FILTERS:
        show.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                          metavar="VALUE", help=f"only rows whose {name} is VALUE")
    add_connection_flags(show)
    show.set_defaults(handler=_baselines)
    refresh = commands.add_parser("refresh", help="compute the next version (admin token)")
    refresh.add_argument("--kind", choices=KINDS, required=True)
    refresh.add_argument("--window-days", type=int, default=None, help="default: 30")
    refresh.add_argument("--note", default=None, help="why (kept on the version)")
    refresh.add_argument("--format", choices=("text", "json"), default="text")
    add_connection_flags(refresh)
    refresh.set_defaults(handler=_refresh)
