"""Which of flakegate's optional extras are installed, told from package metadata alone.

``flakegate`` must answer ``--help`` and name the missing extra on a client-only install
(``pip install flakegate``: only ``requests``), so nothing here imports the extras' packages:
importing flask or numpy just to find out costs a second and fails with a traceback.
"""

from __future__ import annotations

import re
from importlib import metadata

from client.errors import CommandError

DISTRIBUTION = "flakegate"
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def requirements(extra: str) -> list[str]:
    """The distribution names the extra adds (``[]`` when flakegate's metadata is missing,
    as when running from a source tree that was never installed)."""
    try:
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for requirement in declared:
        spec, _, marker = requirement.partition(";")
        name = _NAME.match(spec)
        if name and extra in _EXTRA_MARKER.findall(marker):
            names.append(name.group(1))
    return names


def missing(extra: str) -> list[str]:
    """The extra's distributions that are not installed."""
    absent = []
    for name in requirements(extra):
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            absent.append(name)
    return absent


def install_hint(extra: str) -> str:
    return f"pip install 'flakegate[{extra}]'"


def require(extra: str, what: str) -> None:
    """Raise :class:`CommandError` (one line, exit 2) naming the install command when the
    extra is not installed; ``what`` is the command that needs it, e.g. ``flakegate crawl``."""
    absent = missing(extra)
    if absent:
        raise CommandError(f"{what} needs {install_hint(extra)} "
                           f"(not installed: {', '.join(absent)})")
