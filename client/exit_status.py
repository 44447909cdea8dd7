"""The exit status of every ``flakegate`` command and of the GitHub Action: the one place the
numbers are defined (the action's ``fail-on`` and scripts in CI pipelines depend on them)."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0  # success, or a passing verdict
    REGRESSION = 1  # a failing verdict
    FAILURES = 1  # the same number, for ``crawl``: some builds could not be handled
    ERROR = 2  # usage, configuration, transport or API error
    PENDING = 3  # the verdict was still pending (at the timeout, with --wait)
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it
