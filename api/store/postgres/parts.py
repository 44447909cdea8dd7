"""The parts whose SQLite SQL cannot be rewritten mechanically, written for PostgreSQL.

Each subclasses its SQLite part and overrides only the method that needs PostgreSQL's own SQL;
everything else runs the shared SQL through the dialect (:mod:`.dialect`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from api.failures.model import Breakage
from api.store.breakages import unique_jobs
from api.store.codec import now_us, to_us
from api.store.sqlite.breakages import SqliteBreakages, _by_id


class PgBreakages(SqliteBreakages):
    def add_breakage(self, *, cause: str, jobs: Sequence[str], pattern_id: int | None,
                     notes: str, actor: str, started: datetime | None = None) -> Breakage:
        started_us = now_us() if started is None else to_us(started)
        with self._db.write() as tx:
            # PostgreSQL has no lastrowid: the new id comes back through RETURNING.
            (breakage_id,) = tx.conn.execute(
                "INSERT INTO breakages (cause, jobs, pattern_id, notes, started_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (cause, json.dumps(unique_jobs(jobs), ensure_ascii=False), pattern_id, notes,
                 started_us, actor)).fetchone()
            found = _by_id(tx.conn, int(breakage_id))
        assert found is not None
        return found
