"""The shared fixture corpus (``../shared/fixtures``, beside the checkout) and what its absence
means.

A developer's checkout may lack the corpus, so its tests skip there. CI always lays it beside
the clone: a missing corpus in CI is a broken set-up, and a skip would turn the conformance,
crawl and table tests green without running them, so under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The checkout's root: every test that reads a project file starts from here.
ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def shared_fixtures(*parts: str) -> Path:
    """``../shared/fixtures/<parts>``, which must exist: fail under ``CI=true``, skip elsewhere.

    Callable from a test, a fixture or a module's top level (the skip is then module-wide).
    """
    path = SHARED_FIXTURES.joinpath(*parts)
    if not path.exists():
        message = (f"shared fixtures missing: {path} does not exist (the corpus lives beside "
                   "the checkout, in ../shared/fixtures)")
        if in_ci():
            pytest.fail(f"{message}; CI=true, so this is a broken set-up, not a skip",
                        pytrace=False)
        pytest.skip(message, allow_module_level=True)
    return path
