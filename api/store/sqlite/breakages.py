"""Known breakages in the SQLite backend (a part of SqliteStore; contract in
:mod:`api.store.breakages`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from api.domain import Page
from api.failures.model import Breakage
from api.store.base import NotFound
from api.store.breakages import (
    BreakageResolved,
    BreakageStore,
    FailedRun,
    covers,
    unique_jobs,
)
from api.store.codec import from_us, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.sqlite.db import Database

_COLUMNS = ("id, cause, jobs, pattern_id, notes, started_at, resolved_at, resolution,"
            " created_by, resolved_by")


def _breakage_of(row: tuple[Any, ...]) -> Breakage:
    ident, cause, jobs, pattern, notes, started, resolved, resolution, by, resolved_by = row
    started_at = from_us(started)
    assert started_at is not None
    return Breakage(id=int(ident), cause=str(cause), jobs=tuple(json.loads(jobs)),
                    pattern_id=None if pattern is None else int(pattern), notes=str(notes),
                    started=started_at, resolved=from_us(resolved), resolution=resolution,
                    created_by=str(by), resolved_by=resolved_by)


def _by_id(conn: sqlite3.Connection, breakage_id: int) -> Breakage | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM breakages WHERE id = ?",
                       (breakage_id,)).fetchone()
    return None if row is None else _breakage_of(row)


class SqliteBreakages(BreakageStore):
    """Breakages on the store's :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_breakage(self, *, cause: str, jobs: Sequence[str], pattern_id: int | None,
                     notes: str, actor: str, started: datetime | None = None) -> Breakage:
        started_us = now_us() if started is None else to_us(started)
        with self._db.write() as tx:
            cur = tx.conn.execute(
                "INSERT INTO breakages (cause, jobs, pattern_id, notes, started_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (cause, json.dumps(unique_jobs(jobs), ensure_ascii=False), pattern_id, notes,
                 started_us, actor))
            assert cur.lastrowid is not None
            found = _by_id(tx.conn, cur.lastrowid)
        assert found is not None
        return found

    def get_breakage(self, breakage_id: int) -> Breakage:
        found = _by_id(self._db.conn, breakage_id)
        if found is None:
            raise NotFound(f"no breakage {breakage_id}")
        return found

    def resolve_breakage(self, breakage_id: int, *, resolution: str, actor: str,
                         at: datetime) -> Breakage:
        at_us = to_us(at)
        with self._db.write() as tx:
            found = _by_id(tx.conn, breakage_id)
            if found is None:
                raise NotFound(f"no breakage {breakage_id}")
            if not found.ongoing:
                raise BreakageResolved(f"breakage {breakage_id} is already resolved")
            tx.conn.execute("UPDATE breakages SET resolved_at = ?, resolution = ?,"
                            " resolved_by = ? WHERE id = ?",
                            (at_us, resolution, actor, breakage_id))
            found = _by_id(tx.conn, breakage_id)
        assert found is not None
        return found

    def list_breakages(self, *, ongoing: bool | None = None, job: str | None = None,
                       limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        (before,) = decode_cursor(cursor, "breakages", (int,)) if cursor else (2**62,)
        state = {None: "", True: " AND resolved_at IS NULL",
                 False: " AND resolved_at IS NOT NULL"}[ongoing]
        rows = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM breakages WHERE id < ?{state} ORDER BY id DESC",
            (before,)).fetchall()
        kept = [b for b in map(_breakage_of, rows) if covers(b, job)]
        items = tuple(kept[:limit])
        more = len(kept) > limit
        return Page(items, encode_cursor("breakages", [items[-1].id]) if more else None)

    def ongoing_breakages(self) -> list[Breakage]:
        rows = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM breakages WHERE resolved_at IS NULL ORDER BY id DESC"
        ).fetchall()
        return [_breakage_of(row) for row in rows]

    def failed_runs(self, *, payload: str | None = None, job: str | None = None,
                    since: datetime | None = None, limit: int) -> list[FailedRun]:
        check_limit(limit)
        rows = self._db.conn.execute(
            "SELECT j.name, r.run_id, r.payload, coalesce(r.started_at, r.created_at) AS moment,"
            " EXISTS (SELECT 1 FROM runs s WHERE s.job_id = r.job_id AND s.payload = r.payload"
            " AND s.status = 'success')"
            " FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.status = 'failure'"
            " AND (?1 IS NULL OR r.payload = ?1) AND (?2 IS NULL OR j.name = ?2)"
            " AND (?3 IS NULL OR coalesce(r.started_at, r.created_at) >= ?3)"
            " ORDER BY moment DESC, j.name, r.run_id LIMIT ?4",
            (payload, job, to_us(since), limit)).fetchall()
        return [_failed_of(row) for row in rows]


def _failed_of(row: tuple[Any, ...]) -> FailedRun:
    at = from_us(row[3])
    assert at is not None
    return FailedRun(job=str(row[0]), run_id=str(row[1]), payload=row[2], at=at,
                     passed_on_payload=bool(row[4]))
