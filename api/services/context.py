"""One store per request, opened lazily and closed at teardown.

Opening the embedded store is cheap (a file handle and a few pragmas), and a store per request
keeps connections out of the way of gunicorn's forking and of threads.
"""

from __future__ import annotations

from flask import Flask, current_app, g

from api.store import Store, open_store


def store() -> Store:
    if "store" not in g:
        g.store = open_store(current_app.config["DATABASE"])
    return g.store


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        opened = g.pop("store", None)
        if opened is not None:
            opened.close()
