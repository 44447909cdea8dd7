"""Leases of the SQLite backend (a part of SqliteStore): named expiring locks in one table.

Taking a lease is one upsert inside a ``BEGIN IMMEDIATE`` transaction, which SQLite serialises
across every process on the file, so two holders racing for a free lease cannot both win.
"""

from __future__ import annotations

from api.store.codec import now_us
from api.store.sqlite.db import Database


class SqliteLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        now = now_us()
        with self._db.write() as tx:
            tx.conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " expires_at = excluded.expires_at"
                " WHERE leases.expires_at <= ? OR leases.holder = excluded.holder",
                (name, holder, now + max(1, int(ttl_s * 1_000_000)), now))
            (owner,) = tx.conn.execute("SELECT holder FROM leases WHERE name = ?",
                                       (name,)).fetchone()
            return bool(owner == holder)

    def release_lease(self, name: str, holder: str) -> None:
        with self._db.write() as tx:
            tx.conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
