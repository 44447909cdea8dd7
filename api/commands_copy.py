"""``flakegate db copy --from URL --to URL``: move a whole history between stores.

The work is :func:`api.services.store_copy.copy_store`; this module parses, opens both stores
(the target is created and initialised if it is a new embedded database), prints progress on
stderr and the verification table on stdout. Exit 0 when every logical table has the same
count and checksum on both sides, 1 when any differs (the table says which), 2 when the copy
is refused or a store fails.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from client.errors import CommandError
from client.exit_status import ExitStatus

if TYPE_CHECKING:
    from api.store import Store

Opener = Callable[..., "Store"]


def _copy(args: argparse.Namespace, *, open_migrated: Opener) -> int:
    from api.config import database_url
    from api.services.store_copy import CopyRefused, copy_store, redact

    source_url, target_url = database_url(args.source), database_url(args.target)
    if source_url == target_url:
        raise CommandError("--from and --to name the same store")
    source = open_migrated(source_url)
    try:
        target = open_migrated(target_url, create=True)
        try:
            def progress(table: str, rows: int) -> None:
                print(f"\r{table}: {rows} rows", end="", file=sys.stderr, flush=True)

            try:
                report = copy_store(source, target, source_url, batch=args.batch,
                                    on_batch=progress if args.progress else None)
            except CopyRefused as err:
                raise CommandError(f"refusing to copy into {redact(target_url)}: {err}") from None
        finally:
            target.close()
    finally:
        source.close()
    if args.progress:
        print(file=sys.stderr)
    verb = "resumed" if report.resumed else "copied"
    print(f"{verb} {redact(source_url)} -> {redact(target_url)} (copy {report.copy_id})")
    print(f"{'table':<26} {'source':>10} {'target':>10}  checksum")
    for name, mine in report.source.items():
        theirs = report.target[name]
        state = "ok" if mine == theirs else f"MISMATCH {mine.checksum} != {theirs.checksum}"
        print(f"{name:<26} {mine.rows:>10} {theirs.rows:>10}  {state}")
    if report.mismatched:
        print(f"verification failed for: {', '.join(report.mismatched)}", file=sys.stderr)
        return ExitStatus.FAILURES
    return ExitStatus.OK


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(db_sub: argparse._SubParsersAction, *,
             wrap: Callable[[Callable[[argparse.Namespace], int]],
                            Callable[[argparse.Namespace], int]],
             open_migrated: Opener) -> None:
    """Add ``copy`` under ``db``; ``wrap`` and ``open_migrated`` are :mod:`api.commands`'
    (passed in, so that this module does not import the one that imports it)."""
    copy = db_sub.add_parser("copy", help="copy every job, run, baseline, log, pattern, ... "
                                          "to another store (resumable, verified)")
    copy.add_argument("--from", dest="source", required=True, metavar="URL",
                      help="the store to read (sqlite:///..., bigquery://..., ...)")
    copy.add_argument("--to", dest="target", required=True, metavar="URL",
                      help="an empty store, or the target of an interrupted copy to resume")
    copy.add_argument("--batch", type=_positive, default=None, metavar="ROWS",
                      help="rows per batch (default: per table, 50 to 5000)")
    copy.add_argument("--progress", action="store_true", help="print progress on stderr")
    copy.set_defaults(handler=wrap(functools.partial(_copy, open_migrated=open_migrated)))
