"""``flakegate github publish PAYLOAD``: publish a payload's verdict on GitHub now (a commit
status, the check run, the pull-request comment), with the server's configuration
(``FLAKEGATE_GITHUB_*``, ``FLAKEGATE_PUBLIC_URL``) and store (``--db`` or
``$FLAKEGATE_DATABASE``). For operators and tests; the server publishes on its own when
verdicts change. Prints one line per target. Exit codes (:class:`~client.exit_status.
ExitStatus`): 0 published (or nothing to publish), 1 some targets could not be published
(publishing again is safe), 2 usage or configuration error. Only argparse and the client's
leaf modules are imported at module level (see :mod:`api.commands`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from api.commands import add_db_flag, database_url, open_existing, store_errors
from client.errors import CommandError
from client.exit_status import ExitStatus

if TYPE_CHECKING:
    from api.github.publish import PublishResult


def _publish(args: argparse.Namespace) -> int:
    from api.config import check_config, load_config
    from api.github.publish import PublishIncomplete, publish_with_config

    config = load_config()
    try:
        check_config(config)
    except ValueError as err:
        raise CommandError(str(err)) from None
    store = open_existing(database_url(args))
    try:
        try:
            result = publish_with_config(store, config, args.payload)
        except PublishIncomplete as err:
            _print(err.result)
            print(f"flakegate: not all published: {err}", file=sys.stderr)
            return ExitStatus.FAILURES
    finally:
        store.close()
    if result is None:
        raise CommandError("GitHub is not configured: set FLAKEGATE_GITHUB_TOKEN, or"
                           " FLAKEGATE_GITHUB_APP_ID and FLAKEGATE_GITHUB_APP_PRIVATE_KEY_FILE")
    _print(result)
    return ExitStatus.OK


def _print(result: PublishResult) -> None:
    if not result.outcomes:
        print(f"{result.payload}: nothing published ({result.reason})")
    for o in result.outcomes:
        detail = f" ({o.detail})" if o.detail else ""
        print(f"{o.repository} {o.target}: {o.action}{detail}")


def register(subparsers: argparse._SubParsersAction) -> None:
    github = subparsers.add_parser("github", help="GitHub: publish verdicts")
    sub = github.add_subparsers(dest="github_command", metavar="ACTION")
    sub.required = True
    publish = sub.add_parser("publish", help="publish a payload's verdict on GitHub now")
    publish.add_argument("payload", help="the payload (its runs name the repository)")
    add_db_flag(publish)
    publish.set_defaults(handler=store_errors(_publish))
