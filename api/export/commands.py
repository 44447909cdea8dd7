"""``flakegate export bigquery|ndjson``: incremental warehouse export from any store."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

from api.commands import add_db_flag, database_url, open_existing, store_errors
from client import extras
from client.errors import CommandError
from client.exit_status import ExitStatus
from client.table import plural


def _since(text: str) -> datetime:
    """A date (``2026-11-01``, midnight UTC) or an ISO time with a zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or ISO time: {text!r}") from None
    if value.tzinfo is None:
        if len(text) <= 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        raise argparse.ArgumentTypeError(f"give a time zone in {text!r} (e.g. Z)")
    return value


def run_export(source_url: str, sink: object, since: datetime | None) -> int:
    """Export what ``sink`` has not received yet; returns the number of rows written."""
    from api.export.rows import collect

    # Read only: no migrate, so a read-only credential works, and a store that does not exist
    # is an error before the sink makes anything.
    store = open_existing(source_url)
    try:
        sink.prepare()  # type: ignore[attr-defined]
        state = sink.state(source_url)  # type: ignore[attr-defined]
        batch, new_state = collect(store, state, since)
        sink.write(source_url, batch, new_state)  # type: ignore[attr-defined]
    finally:
        store.close()
    return batch.count


def _export_bigquery(args: argparse.Namespace) -> int:
    from api.export.sinks import BigQuerySink

    extras.require("bigquery", "flakegate export bigquery")
    try:
        sink = BigQuerySink(args.to)
    except ValueError as exc:
        raise CommandError(f"export: {exc}") from None
    rows = run_export(database_url(args), sink, args.since)
    print(f"exported {plural(rows, 'row')} to {args.to}")
    return ExitStatus.OK


def _export_ndjson(args: argparse.Namespace) -> int:
    from api.export.sinks import NdjsonSink

    rows = run_export(database_url(args), NdjsonSink(args.out), args.since)
    print(f"exported {plural(rows, 'row')} to {args.out}")
    return ExitStatus.OK


def register(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export", help="copy history to a warehouse (incremental)",
        description="Incremental export of jobs, runs, results and baselines. See"
                    " docs/bigquery.md.")
    sub = export.add_subparsers(dest="export_command", metavar="TARGET")
    sub.required = True
    bq = sub.add_parser("bigquery", help="into a BigQuery dataset")
    bq.add_argument("--to", required=True, metavar="bigquery://PROJECT/DATASET")
    bq.add_argument("--since", type=_since, default=None, metavar="DATE",
                    help="only runs started (or created) at or after this date")
    add_db_flag(bq)
    bq.set_defaults(handler=store_errors(_export_bigquery))
    nd = sub.add_parser("ndjson", help="into a folder of NDJSON files with schema.json")
    nd.add_argument("--out", required=True, type=Path, metavar="DIR")
    nd.add_argument("--since", type=_since, default=None, metavar="DATE",
                    help="only runs started (or created) at or after this date")
    add_db_flag(nd)
    nd.set_defaults(handler=store_errors(_export_ndjson))
