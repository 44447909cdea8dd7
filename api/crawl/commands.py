"""``flakegate crawl``: pull Prow builds from GCS buckets into flakegate.

    flakegate crawl gcs --bucket B --prefix logs/JOB [--prefix ...] [options]
    flakegate crawl prow --job-url https://prow.k8s.io/job-history/gs/B/logs/JOB [options]
    flakegate crawl --config crawl.yaml [--loop --interval 10m] [options]

Writes into the store (``--db`` or ``$FLAKEGATE_DATABASE``) or, with ``--url`` (or
``$FLAKEGATE_URL`` and no ``--db``), through a running server with a write token. Exit codes
(:class:`~client.exit_status.ExitStatus`): 0 all builds handled, 1 some builds failed (see the
ledger), 2 usage or configuration error, or the ``gcs`` extra is not installed. Only argparse
and the client's leaf modules are imported at module level (see :mod:`api.commands`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from api.commands import database_url, store_errors
from client import extras
from client.durations import parse_duration
from client.errors import CommandError
from client.exit_status import ExitStatus


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="read and report, write nothing (not even the ledger); works "
                             "with a read-only token or database")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="handle at most N builds not yet done, newest first")
    parser.add_argument("--since", default=None, metavar="DATE",
                        help="skip builds started before this date/time (UTC unless given)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="builds read in parallel (default 4)")
    parser.add_argument("--rate", type=float, default=None, metavar="PER_SECOND",
                        help="GCS requests per second, all workers together (default 200; "
                             "0: unlimited)")
    parser.add_argument("--exclude", action="append", default=[], metavar="REGEX",
                        help="skip jobs whose whole name matches (repeatable)")
    parser.add_argument("--payload-annotation", action="append", default=[], metavar="KEY",
                        help="ProwJob annotation holding the payload (default "
                             "release.openshift.io/tag)")
    parser.add_argument("--payload-label", action="append", default=[], metavar="KEY")
    parser.add_argument("--payload-metadata", action="append", default=[], metavar="KEY",
                        help="finished.json/started.json metadata key holding the payload")
    parser.add_argument("--view-url", default=None, metavar="TEMPLATE",
                        help="run URL when prowjob.json has none, e.g. "
                             "https://prow.k8s.io/view/gs/{bucket}/{path}")
    parser.add_argument("--build-log-dir", default=None, metavar="DIR",
                        help="deprecated: also keep build-log.txt (gzip, capped) here (or "
                             "$FLAKEGATE_BUILD_LOG_DIR); the store keeps every log anyway")
    parser.add_argument("--unfinished-max-age", default=None, metavar="DURATION",
                        help="age out started-only builds after this (default 5d)")
    group = parser.add_argument_group("destination")
    group.add_argument("--db", default=None, metavar="URL",
                       help="write into this store (default: $FLAKEGATE_DATABASE)")
    group.add_argument("--url", default=None, metavar="URL",
                       help="write through this server instead (default: $FLAKEGATE_URL)")
    group.add_argument("--token", default=None, metavar="TOKEN",
                       help="write token for --url (default: $FLAKEGATE_TOKEN)")


def register(subparsers: argparse._SubParsersAction) -> None:
    crawl = subparsers.add_parser(
        "crawl", help="pull Prow builds from GCS buckets (gcs, prow, or --config)",
        description="Pull Prow builds from GCS into flakegate. See docs/crawl.md.")
    crawl.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="crawl.yaml: many buckets and jobs")
    crawl.add_argument("--loop", action="store_true", help="with --config: repeat forever")
    crawl.add_argument("--interval", default="10m", metavar="DURATION",
                       help="with --loop: pause between crawls (default 10m)")
    _add_common(crawl)
    crawl.set_defaults(handler=store_errors(_crawl_config))
    sub = crawl.add_subparsers(dest="crawl_command", metavar="SOURCE")
    gcs = sub.add_parser("gcs", help="crawl prefixes of a bucket")
    gcs.add_argument("--bucket", required=True)
    gcs.add_argument("--prefix", action="append", required=True,
                     help="logs/JOB, pr-logs/directory/JOB or pr-logs/pull/... (repeatable)")
    _add_common(gcs)
    gcs.set_defaults(handler=store_errors(_crawl_gcs))
    prow = sub.add_parser("prow", help="crawl the builds listed on a Prow job-history page")
    prow.add_argument("--job-url", required=True, metavar="URL")
    prow.add_argument("--history-rate", type=float, default=None, metavar="PER_SECOND",
                      help="job-history page fetches per second (default 2)")
    _add_common(prow)
    prow.set_defaults(handler=store_errors(_crawl_prow))


# -- plumbing shared by the handlers -------------------------------------------------------------


def _settings(args: argparse.Namespace, base: Any = None) -> Any:
    from api.crawl.config import Settings

    settings = base or Settings()
    changes: dict[str, Any] = {}
    if args.workers is not None:
        changes["workers"] = max(1, args.workers)
    if args.rate is not None:
        changes["rate"] = args.rate
    if getattr(args, "history_rate", None) is not None:
        changes["history_rate"] = args.history_rate
    if args.unfinished_max_age is not None:
        changes["unfinished_max_age"] = parse_duration(args.unfinished_max_age)
    log_dir = args.build_log_dir or os.environ.get("FLAKEGATE_BUILD_LOG_DIR")
    if log_dir:
        changes["build_log_dir"] = Path(log_dir)
    return replace(settings, **changes)


def _sink(args: argparse.Namespace, settings: Any) -> tuple[Any, Any]:
    """The destination, and the settings (saying so when a deprecated option is set)."""
    from api.crawl.sinks import RestSink, StoreSink

    url = args.url or (None if args.db else os.environ.get("FLAKEGATE_URL"))
    if url:
        token = args.token or os.environ.get("FLAKEGATE_TOKEN")
        return RestSink(url, token, dry_run=args.dry_run), settings
    db = database_url(args)
    if settings.build_log_dir is not None:
        # Deprecated (issue 13): the store keeps every build and step log now; the on-disk
        # copy is written only when asked for, and is no longer made by default.
        print(f"flakegate crawl: build_log_dir ({settings.build_log_dir}) is deprecated: the "
              "store keeps build logs (GET /jobs/{job}/runs/{run_id}/logs/build); the copy on "
              "disk is still written for now", file=sys.stderr)
    return StoreSink(db, dry_run=args.dry_run), settings


def _readers(settings: Any) -> tuple[Any, Any]:
    from api.crawl.gcs import GcsReader
    from api.crawl.history import HistoryReader
    from api.crawl.retry import RateLimiter, RetryPolicy

    retry = RetryPolicy(attempts=settings.attempts, base=settings.backoff_base)
    return (GcsReader(retry=retry, limiter=RateLimiter(settings.rate)),
            HistoryReader(retry=retry, limiter=RateLimiter(settings.history_rate)))


def _source_from_args(args: argparse.Namespace, **where: Any) -> Any:
    from api.crawl.config import Excluder, Source, parse_since
    from api.crawl.mapping import PAYLOAD_ANNOTATION, PayloadRule

    rule = PayloadRule(annotations=tuple(args.payload_annotation) or (PAYLOAD_ANNOTATION,),
                       labels=tuple(args.payload_label), metadata=tuple(args.payload_metadata))
    return Source(exclude=Excluder(args.exclude), payload=rule, view_url=args.view_url,
                  since=parse_since(args.since), limit=args.limit, **where)


def _crawl(args: argparse.Namespace, sources: list[Any], base_settings: Any = None) -> int:
    from api.crawl.config import ConfigError
    from api.crawl.runner import Crawler, Summary

    settings = _settings(args, base_settings)
    sink, settings = _sink(args, settings)
    gcs, history = _readers(settings)
    crawler = Crawler(gcs, sink, settings, dry_run=args.dry_run)
    total = Summary()
    broken_sources = 0
    try:
        for source in sources:
            name = source.job_history or f"gs://{source.bucket}/{{{','.join(source.prefixes)}}}"
            try:
                if source.job_history:
                    refs = history.builds(source.job_history, limit=source.limit)
                    summary = crawler.crawl_refs(source, refs, limit=source.limit,
                                                 since=source.since)
                else:
                    summary = crawler.crawl_bucket(source)
            except ConfigError:
                raise  # a usage problem (an unsupported prefix): stop and say so
            except Exception as err:
                # Discovery failed after its retries (bucket gone, deck down): the other
                # sources still run, and a --loop tries again next round.
                print(f"{name}: could not be crawled: {type(err).__name__}: {err}",
                      file=sys.stderr, flush=True)
                broken_sources += 1
                continue
            print(f"{name}: {summary.line()}", flush=True)
            total.add(summary)
    finally:
        sink.close()
        history.close()
    word = "dry run, nothing written" if args.dry_run else "crawl"
    print(f"{word}: {total.line()}", flush=True)
    return ExitStatus.FAILURES if total.failed or broken_sources else ExitStatus.OK


def _guard(run: Any) -> int:
    """Run a crawl: a configuration or usage problem (a ValueError, ConfigError among them)
    ends it with one line and exit 2."""
    extras.require("gcs", "flakegate crawl")
    try:
        return int(run())
    except ValueError as err:
        raise CommandError(f"crawl: {err}") from None


def _crawl_gcs(args: argparse.Namespace) -> int:
    return _guard(lambda: _crawl(args, [_source_from_args(
        args, bucket=args.bucket, prefixes=tuple(args.prefix))]))


def _crawl_prow(args: argparse.Namespace) -> int:
    def run() -> int:
        from api.crawl.history import job_history_target

        job_history_target(args.job_url)  # a bad URL is a usage error before any request
        return _crawl(args, [_source_from_args(args, job_history=args.job_url)])

    return _guard(run)


def _crawl_config(args: argparse.Namespace) -> int:
    if args.config is None:
        raise CommandError("crawl: name a source (gcs, prow) or pass --config crawl.yaml")

    def run() -> int:
        from api.crawl.config import load_config

        interval = parse_duration(args.interval)
        while True:
            config = load_config(args.config)  # re-read each round: edits apply without restart
            sources = [_override(source, args) for source in config.sources]
            code = _crawl(args, sources, config.settings)
            if not args.loop:
                return code
            time.sleep(interval)

    return _guard(run)


def _override(source: Any, args: argparse.Namespace) -> Any:
    """Command-line --limit/--since/--exclude apply on top of each configured source."""
    from api.crawl.config import Excluder, parse_since

    changes: dict[str, Any] = {}
    if args.limit is not None:
        changes["limit"] = args.limit
    if args.since is not None:
        changes["since"] = parse_since(args.since)
    if args.exclude:
        changes["exclude"] = Excluder([*(p.pattern for p in source.exclude.patterns),
                                       *args.exclude])
    return replace(source, **changes)
