"""The embedded SQLite backend (``sqlite:///path.db``); see :mod:`api.store.sqlite.store`."""

from api.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
