"""What the routes hand to the services, kept beside the app (flaskr's ``db.py``).

* The store: one per request, opened lazily on ``g`` and closed at teardown. Opening the
  embedded store is cheap (a file handle and a few pragmas), and a store per request keeps
  connections out of the way of gunicorn's forking and of threads.
* The verdict cache: one per app in ``app.extensions``, so two apps in one process (tests,
  or two databases) never share verdicts; the ``VERDICT_CACHE`` setting turns it off.

Services take these as arguments and never see Flask.
"""

from __future__ import annotations

from flask import Flask, current_app, g

from api.services.verdicts import VerdictCache
from api.store import Store, open_store

VERDICT_CACHE_KEY = "flakegate.verdict_cache"


def get_store() -> Store:
    if "store" not in g:
        # create=False: a database file deleted while serving is a 503, never silently
        # replaced by an empty one (only `flakegate db init` and `serve` create it).
        g.store = open_store(current_app.config["DATABASE"], create=False)
    return g.store


def get_verdict_cache() -> VerdictCache | None:
    """The app's verdict cache; ``None`` when the ``VERDICT_CACHE`` setting turns it off."""
    cache: VerdictCache | None = current_app.extensions[VERDICT_CACHE_KEY]
    return cache


def init_app(app: Flask) -> None:
    app.extensions[VERDICT_CACHE_KEY] = VerdictCache() if app.config["VERDICT_CACHE"] else None

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        opened = g.pop("store", None)
        if opened is not None:
            opened.close()
