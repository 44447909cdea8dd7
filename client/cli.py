"""The ``flakegate`` command: one dispatcher for server and client subcommands.

Each command module exposes ``register(subparsers)``, adding its parsers with a ``handler``
default that takes the parsed arguments and returns the exit code. Server commands live in
``api.commands`` and are offered only when the ``server`` extra is installed, so a client-only
install in a CI job stays light.

Exit codes: 0 success (verdict pass), 1 regression, 2 usage, transport or API error,
3 verdict still pending at the timeout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_ERROR = 2
EXIT_PENDING = 3


def _command_modules() -> list[object]:
    modules: list[object] = []
    try:
        from api import commands as server_commands
    except ImportError:  # the server extra is not installed
        pass
    else:
        modules.append(server_commands)
    try:
        from client import commands as client_commands
    except ImportError:
        pass
    else:
        modules.append(client_commands)
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flakegate",
        description="flakegate: judge parallel CI runs of a payload against each test's history.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in _command_modules():
        module.register(subparsers)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help
        return int(exit_.code or 0)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("flakegate: interrupted", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
