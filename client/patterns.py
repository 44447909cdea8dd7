"""``flakegate scan`` and ``flakegate patterns import|export``: curating failure patterns in a
repository and re-scanning stored logs (SPEC section 10; docs/failure-patterns.md).

``patterns export FILE`` writes every pattern (retired ones too) as a JSON array;
``patterns import FILE`` applies such a file: a pattern is identified by its expression and
syntax (ids differ between servers), so importing the same file twice changes nothing the
second time; a known pattern whose other fields differ gets a new version; it prints how many
were created, updated and left unchanged. ``scan`` queues a re-scan and follows it, with a
progress line on stderr (redrawn in place on a terminal, one line every few seconds
otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from client.api import Client
from client.cli_support import add_connection_flags, make_client
from client.errors import CommandError
from client.exit_status import ExitStatus

#: The fields a pattern file carries (what an import may set); ids and authorship stay local.
FIELDS = ("expression", "syntax", "tags", "steps", "specificity", "lines_from_end",
          "description", "promoted")
DEFAULTS: dict[str, Any] = {"syntax": "literal", "tags": [], "steps": [], "specificity": 1,
                            "lines_from_end": None, "description": "", "promoted": False}
POLL_S = 1.0
QUIET_EVERY_S = 10.0  # without a terminal, a progress line this often


def _normal(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A pattern's importable fields with defaults filled in and tags/steps as sorted sets (the
    server keeps them so), so that a file and the server compare equal when they agree."""
    out = {**DEFAULTS, **{k: fields[k] for k in FIELDS if k in fields}}
    out["tags"], out["steps"] = sorted(set(out["tags"])), sorted(set(out["steps"]))
    return out


def export_patterns(client: Client) -> list[dict[str, Any]]:
    return [{"id": p["id"], **_normal(p), **({"retired": p["retired"]} if p.get("retired")
                                             else {})}
            for p in client.list_patterns(include_retired=True)]


def _read_file(path: str) -> list[dict[str, Any]]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        items = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CommandError(f"cannot read patterns from {path}: {err}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and "expression" in i
                                              for i in items):
        raise CommandError(f"{path}: expected a JSON array of objects with an expression")
    return items


def import_patterns(client: Client, items: list[dict[str, Any]]) -> dict[str, int]:
    """Create or update each pattern of the file; counts of created, updated, unchanged."""
    known = {(p["expression"], p["syntax"]): p for p in client.list_patterns(include_retired=True)}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for item in items:
        wanted = _normal(item)
        current = known.get((wanted["expression"], wanted["syntax"]))
        if current is None:
            promoted = wanted.pop("promoted")
            made = client.create_pattern(wanted)
            if promoted:
                client.edit_pattern(made["id"], {"promoted": True})
            known[(wanted["expression"], wanted["syntax"])] = made
            counts["created"] += 1
            continue
        have = _normal(current)
        changed = {k: v for k, v in wanted.items() if have[k] != v}
        if changed:
            client.edit_pattern(current["id"], changed)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts


def follow_scan(client: Client, scan: dict[str, Any], stream: TextIO, *,
                poll: float = POLL_S, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll the scan until it is done or failed, drawing its progress on ``stream``."""
    tty = stream.isatty()
    last_line = -QUIET_EVERY_S
    while True:
        line = (f"scan {scan['id']}: {scan['state']}, {scan['logs_scanned']} logs scanned,"
                f" {scan['matches']} matches")
        finished = scan["state"] in ("done", "failed")
        if tty:
            stream.write("\r\x1b[2K" + line + ("\n" if finished else ""))
            stream.flush()
        elif finished or clock() - last_line >= QUIET_EVERY_S:
            stream.write(line + "\n")
            stream.flush()
            last_line = clock()
        if finished:
            return scan
        sleep(poll)
        scan = client.get_scan(scan["id"])


def _scan(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        scan = client.start_scan(since=args.since, job=args.job)
        final = follow_scan(client, scan, sys.stderr)
    if final["state"] == "failed":
        raise CommandError(f"scan {final['id']} failed: {final.get('error') or 'unknown'}")
    return ExitStatus.OK


def _export(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        items = export_patterns(client)
    text = json.dumps(items, indent=1, ensure_ascii=False) + "\n"
    if args.file == "-":
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"exported {len(items)} patterns to {args.file}", file=sys.stderr)
    return ExitStatus.OK


def _import(args: argparse.Namespace) -> int:
    items = _read_file(args.file)
    with make_client(args) as client:
        counts = import_patterns(client, items)
    print(f"{counts['created']} created, {counts['updated']} updated,"
          f" {counts['unchanged']} unchanged")
    return ExitStatus.OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scan = subparsers.add_parser(
        "scan", help="re-scan stored logs with the failure patterns (admin)",
        description="Queue a scan of the stored logs of runs created since a time with every "
                    "live pattern not yet applied to them, and follow its progress.")
    scan.add_argument("--since", default="30d", metavar="DURATION",
                      help="runs created this long ago or later, e.g. 30d (default), or an "
                           "ISO 8601 time")
    scan.add_argument("--job", default=None, help="only this job's runs")
    scan.set_defaults(handler=_scan)
    add_connection_flags(scan)
    patterns = subparsers.add_parser(
        "patterns", help="curate failure patterns in a file: import, export",
        description="Keep the curated patterns in a repository as JSON (admin to import).")
    sub = patterns.add_subparsers(dest="patterns_command", metavar="ACTION")
    sub.required = True
    export = sub.add_parser("export", help="write every pattern to FILE ('-': stdout)")
    export.add_argument("file", metavar="FILE")
    export.set_defaults(handler=_export)
    imp = sub.add_parser("import", help="create or update the patterns of FILE ('-': stdin)")
    imp.add_argument("file", metavar="FILE")
    imp.set_defaults(handler=_import)
    for parser in (export, imp):
        add_connection_flags(parser)
