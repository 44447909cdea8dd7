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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import unquote, urlsplit

from client import extras
from client.durations import parse_duration
from client.errors import CommandError
from client.exit_status import ExitStatus

if TYPE_CHECKING:
    from api.store import Store

P = ParamSpec("P")
R = TypeVar("R")


def database_url(args: argparse.Namespace) -> str:
    """``--db`` read the way ``FLAKEGATE_DATABASE`` is (a bare path is the SQLite store),
    else ``FLAKEGATE_DATABASE``, else the default."""
    from api.config import database_url as normalise
    from api.config import load_config

    return normalise(args.db) if args.db else load_config()["DATABASE"]


def open_url(url: str) -> Store:
    """``open_store``, with a bad URL or a missing extra as a :class:`CommandError`."""
    from api.store import open_store

    if urlsplit(url).scheme.lower() == "bigquery":
        extras.require("bigquery", "a bigquery:// store")
    try:
        return open_store(url)
    except ValueError as err:  # the URL itself is unusable
        raise CommandError(str(err)) from None


def open_existing(url: str) -> Store:
    """Open a store that must already exist: an embedded database that was never
    initialised is an error, not a new empty file (which would then look like a store
    without jobs). Only ``db init``, ``serve`` and ``demo`` create one."""
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        raise CommandError(f"no database at {path}; run flakegate db init")
    return open_url(url)


def open_migrated(url: str, *, create: bool = False) -> Store:
    """Open and upgrade the store; ``create`` makes a missing embedded database (and its
    folder) rather than refusing it."""
    if create:
        _ensure_parent(url)
        store = open_url(url)
    else:
        store = open_existing(url)
    store.migrate()
    return store


def store_errors(handler: Callable[P, R]) -> Callable[P, R]:
    """The store's errors (unknown job, unreachable backend) and SQLite's own (a database
    that is locked, read-only or was never initialised) as one-line CommandErrors."""

    @functools.wraps(handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from api.store import StoreError

        try:
            return handler(*args, **kwargs)
        except StoreError as err:
            raise CommandError(str(err)) from err
        except sqlite3.Error as err:
            raise CommandError(f"database error: {err}") from err

    return run


def _sqlite_file(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL; None for other stores and for ``:memory:``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite" and parts.path.startswith("/") and parts.path != "/:memory:":
        return Path(unquote(parts.path))
    return None


def _ensure_parent(url: str) -> None:
    """Create the embedded database's folder, so a first ``db init`` just works."""
    path = _sqlite_file(url)
    if path is not None:
        folder = path.parent
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
    from api.config import check_config, check_pages_config, load_config
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
        from api.serving.scan_schedule import check_scan_config  # patterns: scan settings

        check_scan_config(config)
        from api.hooks.publish_trigger import publish_delay  # GitHub webhooks and work queue
        from api.serving.work_schedule import work_period

        work_period(config)
        publish_delay(config)
        check_pages_config(config)  # pages: the sign-in cookie's key (issue 15)
    except ValueError as err:  # ConfigError is one
        raise CommandError(str(err)) from None
    url = database_url(args)
    open_migrated(url, create=True).close()  # migrate once in the master, before any fork
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


def _baseline_compute_local(args: argparse.Namespace, job: str | None) -> list[dict[str, Any]]:
    """``baseline compute`` on the ``--db`` store: what ``POST /jobs/{job}/baselines`` returns,
    for one job or (``job=None``) every job."""
    from api.schemas.baselines import BaselineVersionSchema
    from api.services import baselines

    store = open_migrated(database_url(args))
    try:
        if job is None:  # a refresh: a version only where the window's runs or results changed
            versions = [done.version for done in baselines.recompute_all(store)
                        if done.version is not None]
        else:
            versions = [baselines.compute(store, job, window_days=args.window_days,
                                          max_runs=args.max_runs,
                                          exclude_payload=args.exclude_payload)]
    finally:
        store.close()
    return [BaselineVersionSchema().dump(version) for version in versions]


def _baseline_show_local(args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``baseline show`` on the ``--db`` store: what ``GET /jobs/{job}/baseline`` returns,
    every test at once. Read only: no migration, and no database is created."""
    from api.schemas.baselines import BaselineVersionSchema, TestBaselineSchema
    from api.store import NotFound

    store = open_existing(database_url(args))
    try:
        version = store.get_baseline(args.job, args.version)
        if version is None:
            raise NotFound(f"job {args.job!r} has no such baseline")
        tests = store.baseline_tests(args.job, version.version)
    finally:
        store.close()
    return (BaselineVersionSchema().dump(version),
            TestBaselineSchema(many=True).dump(tests))


def _demo(args: argparse.Namespace) -> int:
    from api.demo import load_demo

    url = database_url(args)
    parts = urlsplit(url)
    # Beside an embedded database (var/demo-token for var/flakegate.db); other stores: none.
    token_file = (Path(unquote(parts.path)).with_name("demo-token")
                  if parts.scheme == "sqlite" and parts.path not in ("", "/:memory:") else None)
    store = open_migrated(url, create=True)
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
    from api.commands_copy import register as register_copy  # issue 16: db copy

    register_copy(db_sub, wrap=store_errors, open_migrated=open_migrated)

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

    # The client owns ``baseline`` (it works through --url on a client-only install); the
    # server adds the --db backends it dispatches to.
    from client import baseline

    compute, show = baseline.register(subparsers)
    compute.set_defaults(local=store_errors(_baseline_compute_local))
    show.set_defaults(local=store_errors(_baseline_show_local))

    demo = subparsers.add_parser("demo", help="load a realistic demo history and payload")
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--base-url", default="http://127.0.0.1:8080")
    add_db_flag(demo)
    demo.set_defaults(handler=store_errors(_demo))
