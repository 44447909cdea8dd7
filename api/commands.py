"""Server-side subcommands of ``flakegate``: serve, db init, token create/list/revoke,
baseline, demo.

Registered through the ``flakegate.commands`` entry point (see :mod:`client.cli`). Only
argparse and the client's leaf modules at import time: heavy imports (flask, gunicorn, numpy)
belong to the handlers that need them. Handlers end foreseeable failures (a bad ``--db`` URL,
an unknown job or baseline, a store that cannot be reached) with
:class:`~client.errors.CommandError`, which the dispatcher prints as one line, exit 2.
"""

from __future__ import annotations

import argparse
import functools
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from client import extras
from client.durations import parse_duration
from client.errors import CommandError
from client.exit_status import ExitStatus

if TYPE_CHECKING:
    from api.store import Store

Handler = Callable[[argparse.Namespace], int]


def database_url(args: argparse.Namespace) -> str:
    from api.config import load_config

    return args.db or load_config()["DATABASE"]


def open_url(url: str) -> Store:
    """``open_store``, with a bad URL or a missing extra as a :class:`CommandError`."""
    from api.store import open_store

    if urlsplit(url).scheme.lower() == "bigquery":
        extras.require("bigquery", "a bigquery:// store")
    try:
        return open_store(url)
    except ValueError as err:  # the URL itself is unusable
        raise CommandError(str(err)) from None


def open_migrated(url: str) -> Store:
    _ensure_parent(url)
    store = open_url(url)
    store.migrate()
    return store


def store_errors(handler: Handler) -> Handler:
    """The store's errors (unknown job, unreachable backend) and SQLite's own (a database
    that is locked, read-only or was never initialised) as one-line CommandErrors."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from api.store import StoreError

        try:
            return handler(args)
        except StoreError as err:
            raise CommandError(str(err)) from err
        except sqlite3.Error as err:
            raise CommandError(f"database error: {err}") from err

    return run


def _ensure_parent(url: str) -> None:
    """Create the embedded database's folder, so a first ``db init`` just works."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite" and parts.path.startswith("/") and parts.path != "/:memory:":
        folder = Path(unquote(parts.path)).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise CommandError(f"cannot create {folder} for the database: {err}") from None


def _db_init(args: argparse.Namespace) -> int:
    url = database_url(args)
    _ensure_parent(url)
    store = open_url(url)
    try:
        version = store.migrate()
    finally:
        store.close()
    print(f"database {url} is at schema version {version}")
    return ExitStatus.OK


def _token_create(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from api.domain import Scope
    from api.services import tokens

    expires_at = (None if args.expires is None
                  else datetime.now(UTC) + timedelta(seconds=args.expires))
    store = open_migrated(database_url(args))
    try:
        secret, made = tokens.create(store, scope=Scope(args.scope), label=args.label,
                                     expires_at=expires_at)
    finally:
        store.close()
    print(secret)  # alone on stdout, so that TOKEN=$(flakegate token create ...) works
    print(f"token id {made.id} ({made.scope.value}), expires {_when(made.expires_at)}",
          file=sys.stderr)
    return ExitStatus.OK


def _when(moment: object) -> str:
    from datetime import datetime

    return f"{moment:%Y-%m-%d %H:%M}Z" if isinstance(moment, datetime) else "-"


def _token_list(args: argparse.Namespace) -> int:
    from api.store import TokenInfo

    store = open_migrated(database_url(args))
    found: list[TokenInfo] = []
    try:
        cursor = None
        while True:
            page = store.list_tokens(limit=500, cursor=cursor)
            found += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        store.close()
    print(f"{'id':12}  {'scope':5}  {'created':17}  {'expires':17}  {'last used':17}  "
          f"{'revoked':17}  label")
    for token in found:
        print(f"{token.id:12}  {token.scope.value:5}  {_when(token.created_at):17}  "
              f"{_when(token.expires_at):17}  {_when(token.last_used_at):17}  "
              f"{_when(token.revoked_at):17}  {token.label}")
    return ExitStatus.OK


def _token_revoke(args: argparse.Namespace) -> int:
    import getpass

    from api.services import tokens

    store = open_migrated(database_url(args))
    try:
        revoked = tokens.revoke(store, args.id, actor=f"cli:{getpass.getuser()}")
    finally:
        store.close()
    print(f"token {revoked.id} revoked at {_when(revoked.revoked_at)} by {revoked.revoked_by}")
    return ExitStatus.OK


def _serve(args: argparse.Namespace) -> int:
    from api.config import check_config, load_config
    from api.server import serve
    from api.serving.baseline_schedule import schedule_period

    if args.recompute_every is not None:  # deprecated alias: the workers read the setting
        print("flakegate serve: --recompute-every is deprecated; set FLAKEGATE_BASELINE_EVERY",
              file=sys.stderr)
        os.environ["FLAKEGATE_BASELINE_EVERY"] = f"{args.recompute_every}s"
    try:  # refuse here, in one line, rather than in every worker's traceback
        config = load_config()
        check_config(config)
        schedule_period(config)
    except ValueError as err:  # ConfigError is one
        raise CommandError(str(err)) from None
    url = database_url(args)
    open_migrated(url).close()  # migrate once in the master, before any worker forks
    return serve(url, host=args.host, port=args.port, workers=args.workers,
                 timeout=args.timeout)


def positive_duration(text: str) -> float:
    """An argparse type: seconds in ``30s``, ``10m``, ``6h`` (the client's duration syntax)."""
    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("a duration must be positive")
    return seconds


def _baseline_compute(args: argparse.Namespace) -> int:
    from api.services import baselines

    if not args.all and not args.job:
        raise CommandError("name a JOB or pass --all")
    store = open_migrated(database_url(args))
    try:
        while True:
            if args.all:
                done = baselines.recompute_all(store)
            else:
                version = baselines.compute(store, args.job, window_days=args.window_days,
                                            max_runs=args.max_runs,
                                            exclude_payload=args.exclude_payload)
                done = [baselines.Refreshed(args.job, version, True, version.runs)]
            for refreshed in done:
                print(refreshed.describe(), flush=True)
            if args.every is None:
                return ExitStatus.OK
            time.sleep(args.every)
    finally:
        store.close()


def _baseline_show(args: argparse.Namespace) -> int:
    from api.store import NotFound

    store = open_migrated(database_url(args))
    try:
        version = store.get_baseline(args.job, args.version)
        if version is None:
            raise NotFound(f"job {args.job!r} has no such baseline")
        tests = store.baseline_tests(args.job, version.version)
    finally:
        store.close()
    print(f"{version.job} baseline v{version.version}: {version.runs} runs, "
          f"{version.tests} tests, window {version.window_days} days / {version.max_runs} runs, "
          f"latch {'on' if version.latch else 'off'}, "
          f"computed {version.created_at:%Y-%m-%d %H:%M}Z")
    worst = sorted(tests, key=lambda test: test.pass_rate)[: args.top]
    print(f"{'pass rate':>9}  {'runs':>5}  {'flakes':>6}  test")
    for test in worst:
        mark = " (latched)" if test.latched else ""
        print(f"{test.pass_rate:9.2%}  {test.runs:5d}  {test.flakes:6d}  {test.name}{mark}")
    return ExitStatus.OK


def _demo(args: argparse.Namespace) -> int:
    from api.demo import load_demo

    url = database_url(args)
    parts = urlsplit(url)
    # Beside an embedded database (var/demo-token for var/flakegate.db); other stores: none.
    token_file = (Path(unquote(parts.path)).with_name("demo-token")
                  if parts.scheme == "sqlite" and parts.path not in ("", "/:memory:") else None)
    store = open_migrated(url)
    try:
        summary = load_demo(store, seed=args.seed, token_file=token_file)
    finally:
        store.close()
    print(summary.describe(base_url=args.base_url))
    return ExitStatus.OK


def add_db_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=None,
                        help="store URL, e.g. sqlite:///var/flakegate.db "
                             "(default: $FLAKEGATE_DATABASE)")


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the API under gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=min(4, (os.cpu_count() or 1) + 1))
    serve.add_argument("--timeout", type=int, default=120, help="worker timeout in seconds")
    serve.add_argument("--recompute-every", type=positive_duration, default=None,
                       metavar="DURATION",
                       help="deprecated: sets FLAKEGATE_BASELINE_EVERY (the server keeps "
                            "baselines current every 6h by default)")
    add_db_flag(serve)
    serve.set_defaults(handler=store_errors(_serve))

    db = subparsers.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_sub.required = True
    init = db_sub.add_parser("init", help="create or upgrade the schema (idempotent)")
    add_db_flag(init)
    init.set_defaults(handler=store_errors(_db_init))

    token = subparsers.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", metavar="ACTION")
    token_sub.required = True
    create = token_sub.add_parser("create", help="mint a token and print it once")
    create.add_argument("--scope", choices=("read", "write", "admin"), required=True)
    create.add_argument("--label", default="", help="who or what the token is for")
    create.add_argument("--expires", type=positive_duration, default=None, metavar="DURATION",
                        help="expire after this long, e.g. 90d (default: never)")
    add_db_flag(create)
    create.set_defaults(handler=store_errors(_token_create))
    listing = token_sub.add_parser("list", help="list tokens (never their secrets)")
    add_db_flag(listing)
    listing.set_defaults(handler=store_errors(_token_list))
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id (from `list`)")
    revoke.add_argument("id", help="the token's id (12 hex digits)")
    add_db_flag(revoke)
    revoke.set_defaults(handler=store_errors(_token_revoke))

    baseline = subparsers.add_parser("baseline", help="per-test baselines (server side)")
    baseline_sub = baseline.add_subparsers(dest="baseline_command", metavar="ACTION")
    baseline_sub.required = True
    compute = baseline_sub.add_parser("compute", help="compute a new baseline version")
    compute.add_argument("job", nargs="?", help="the job (or --all)")
    compute.add_argument("--all", action="store_true", help="every job")
    compute.add_argument("--window-days", type=int, default=None)
    compute.add_argument("--max-runs", type=int, default=None)
    compute.add_argument("--exclude-payload", default=None)
    compute.add_argument("--every", type=positive_duration, default=None, metavar="DURATION",
                         help="repeat on this schedule until interrupted")
    add_db_flag(compute)
    compute.set_defaults(handler=store_errors(_baseline_compute))
    show = baseline_sub.add_parser("show", help="show a baseline's least stable tests")
    show.add_argument("job")
    show.add_argument("--version", type=int, default=None)
    show.add_argument("--top", type=int, default=20, help="how many tests to list")
    add_db_flag(show)
    show.set_defaults(handler=store_errors(_baseline_show))

    demo = subparsers.add_parser("demo", help="load a realistic demo history and payload")
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--base-url", default="http://127.0.0.1:8080")
    add_db_flag(demo)
    demo.set_defaults(handler=store_errors(_demo))
