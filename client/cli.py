"""The ``flakegate`` command: one dispatcher for client and server subcommands.

The client commands (:mod:`client.commands`) are always there. The server commands come from
the ``flakegate.commands`` entry points (``api.commands:register`` and the crawl and export
modules), loaded only when the ``server`` extra is installed: the client never imports the
server, so a client-only install in a CI job stays light and, asked for ``serve``, says which
extra to install instead of failing on ``import numpy``.

Every command's handler takes the parsed arguments and returns an :class:`ExitStatus`. Errors
a user can foresee (a client :class:`~client.errors.FlakegateError`, a
:class:`~client.errors.CommandError` from any command, a usage error, Ctrl-C) become one
``flakegate: ...`` line on stderr and their exit status here, and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import metadata

from client import commands, errors, extras
from client.api import package_version
from client.cli_support import warn
from client.exit_status import ExitStatus

COMMAND_GROUP = "flakegate.commands"
SERVER_EXTRA = "server"
#: What the server's entry points register, named here so that an install without the server
#: extra can tell these commands from typos without importing anything of the server.
SERVER_COMMANDS = ("serve", "db", "token", "demo", "crawl", "export", "github")


def server_installed() -> bool:
    return not extras.missing(SERVER_EXTRA)


def build_parser() -> argparse.ArgumentParser:
    with_server = server_installed()
    parser = argparse.ArgumentParser(
        prog="flakegate",
        description="flakegate: judge parallel CI runs of a payload against each test's history.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the epilog stays one line
        epilog=None if with_server else (
            f"server commands ({', '.join(SERVER_COMMANDS)}) need "
            f"{extras.install_hint(SERVER_EXTRA)}"),
    )
    parser.add_argument("--version", action="version", version=f"flakegate {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    if with_server:
        # The server's own commands first, then the plugged ones (crawl, export) by name.
        for entry_point in sorted(metadata.entry_points(group=COMMAND_GROUP),
                                  key=lambda entry: (entry.name != SERVER_EXTRA, entry.name)):
            entry_point.load()(subparsers)
    commands.register(subparsers)
    return parser


def _say(message: str) -> None:
    print(f"flakegate: {message}", file=sys.stderr)


def _first_word(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _exit_status(err: errors.CommandError | errors.FlakegateError,
                 args: argparse.Namespace) -> ExitStatus:
    if isinstance(err, errors.CommandError):
        _say(str(err))
        return err.exit_status
    if getattr(args, "fail_open", False) and err.unavailable:
        warn(f"{err.describe()}; --fail-open: not blocking")
        return ExitStatus.OK
    _say(f"error: {err.describe()}")
    return ExitStatus.ERROR


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _first_word(argv)
    if command in SERVER_COMMANDS:
        try:
            extras.require(SERVER_EXTRA, command)
        except errors.CommandError as err:
            _say(str(err))
            return err.exit_status
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help
        return int(exit_.code or 0)
    try:
        return int(args.handler(args))
    except (errors.CommandError, errors.FlakegateError) as err:
        return _exit_status(err, args)
    except KeyboardInterrupt:
        _say("interrupted")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``flakegate runs JOB | head``): not an error of ours. Point
        # stdout at nothing so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
