"""flakegate's REST service. ``create_app`` is the application factory.

The factory is imported lazily so that ``import api.commands`` (done for every ``flakegate``
invocation) stays cheap and so that ``serve`` can configure Prometheus' multiprocess mode
before any metric exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    from api.app import create_app as factory

    return factory(overrides)


__all__ = ["create_app"]
