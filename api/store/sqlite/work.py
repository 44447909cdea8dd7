"""Durable background work in the SQLite backend (a part of SqliteStore; contract in
:mod:`api.store.work`).

Every mutation is one ``BEGIN IMMEDIATE`` transaction, which SQLite serialises across the
processes on the file: a dedupe check and its insert, or a claim's pick and its stamp, cannot
interleave with another process's.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime
from typing import Any

from api.domain import Page
from api.store.codec import from_us, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.sqlite.db import Database
from api.store.work import Enqueued, WorkItem, WorkQueue, WorkState

_COLUMNS = ("id, kind, key, body, state, attempts, not_before, holder, lease_until, error,"
            " created_at, updated_at")


def _item_of(row: tuple[Any, ...]) -> WorkItem:
    ident, kind, key, body, state, attempts, not_before, holder, lease, error, made, upd = row
    created, updated, due = from_us(made), from_us(upd), from_us(not_before)
    assert created is not None and updated is not None and due is not None
    return WorkItem(id=str(ident), kind=str(kind), key=str(key), body=str(body),
                    state=WorkState(state), attempts=int(attempts), not_before=due,
                    holder=holder, lease_until=from_us(lease), error=error,
                    created_at=created, updated_at=updated)


def _by_id(conn: sqlite3.Connection, item_id: str) -> WorkItem | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM work WHERE id = ?", (item_id,)).fetchone()
    return None if row is None else _item_of(row)


class SqliteWork(WorkQueue):
    """The work queue on the store's :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def enqueue(self, kind: str, key: str, body: str, *, not_before: datetime | None = None,
                once: bool = False) -> Enqueued:
        now = now_us()
        due = now if not_before is None else to_us(not_before)
        assert due is not None
        with self._db.write() as tx:
            if once:
                found = tx.conn.execute(f"SELECT {_COLUMNS} FROM work WHERE kind = ? AND key = ?"
                                        " ORDER BY created_at LIMIT 1", (kind, key)).fetchone()
            else:
                found = tx.conn.execute(
                    f"SELECT {_COLUMNS} FROM work WHERE kind = ? AND key = ? AND state = ?"
                    " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY not_before LIMIT 1",
                    (kind, key, WorkState.QUEUED.value, now)).fetchone()
            if found is not None:
                item = _item_of(found)
                if not once and int(found[6]) > due:  # the earlier of the two is kept
                    tx.conn.execute("UPDATE work SET not_before = ?, updated_at = ?"
                                    " WHERE id = ?", (due, now, item.id))
                    item = _by_id(tx.conn, item.id) or item
                else:
                    tx.commit = False
                return Enqueued(item, created=False)
            ident = uuid.uuid4().hex
            tx.conn.execute(
                f"INSERT INTO work ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, ?, NULL, NULL, NULL,"
                " ?, ?)", (ident, kind, key, body, WorkState.QUEUED.value, due, now, now))
            made = _by_id(tx.conn, ident)
        assert made is not None
        return Enqueued(made, created=True)

    def claim(self, holder: str, lease_s: float, *,
              kinds: tuple[str, ...] | None = None) -> WorkItem | None:
        now = now_us()
        of_kinds = ""
        params: list[Any] = [WorkState.QUEUED.value, now, now]
        if kinds is not None:
            if not kinds:
                return None
            of_kinds = f" AND w.kind IN ({', '.join('?' * len(kinds))})"
            params += list(kinds)
        params.append(now)
        with self._db.write() as tx:
            row = tx.conn.execute(
                "SELECT w.id FROM work w WHERE w.state = ? AND w.not_before <= ?"
                f" AND (w.lease_until IS NULL OR w.lease_until <= ?){of_kinds}"
                " AND NOT EXISTS (SELECT 1 FROM work o WHERE o.kind = w.kind AND o.key = w.key"
                " AND o.id != w.id AND o.state = 'queued' AND o.lease_until > ?)"
                " ORDER BY w.not_before, w.created_at LIMIT 1", params).fetchone()
            if row is None:
                tx.commit = False
                return None
            tx.conn.execute(
                "UPDATE work SET holder = ?, lease_until = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE id = ?",
                (holder, now + max(1, int(lease_s * 1_000_000)), now, row[0]))
            return _by_id(tx.conn, row[0])

    def _finish(self, item_id: str, holder: str, sets: str, params: tuple[Any, ...]) -> bool:
        with self._db.write() as tx:
            changed = tx.conn.execute(
                f"UPDATE work SET {sets}, updated_at = ? WHERE id = ? AND holder = ?"
                " AND state = ? AND lease_until > ?",
                (*params, now_us(), item_id, holder, WorkState.QUEUED.value, now_us()))
            return changed.rowcount == 1

    def complete(self, item_id: str, holder: str) -> bool:
        return self._finish(item_id, holder, "state = ?, lease_until = NULL",
                            (WorkState.DONE.value,))

    def fail(self, item_id: str, holder: str, error: str, *,
             retry_at: datetime | None) -> bool:
        if retry_at is None:
            return self._finish(item_id, holder, "state = ?, error = ?, lease_until = NULL",
                                (WorkState.DEAD.value, error))
        return self._finish(item_id, holder,
                            "error = ?, not_before = ?, lease_until = NULL, holder = NULL",
                            (error, to_us(retry_at)))

    def get_work(self, item_id: str) -> WorkItem | None:
        return _by_id(self._db.conn, item_id)

    def list_work(self, *, state: WorkState | None = None, kind: str | None = None,
                  limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        where: list[str] = []
        params: list[Any] = []
        if cursor:
            created, ident = decode_cursor(cursor, "work", (int, str))
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params += [created, created, ident]
        if state is not None:
            where.append("state = ?")
            params.append(state.value)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        sql = f"SELECT {_COLUMNS} FROM work"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._db.conn.execute(sql + " ORDER BY created_at DESC, id DESC LIMIT ?",
                                     (*params, limit + 1)).fetchall()
        items = tuple(_item_of(row) for row in rows[:limit])
        if len(rows) <= limit:
            return Page(items, None)
        last = items[-1]
        return Page(items, encode_cursor("work", [to_us(last.created_at), last.id]))

    def purge_work(self, kind: str, before: datetime) -> int:
        with self._db.write() as tx:
            gone = tx.conn.execute(
                "DELETE FROM work WHERE kind = ? AND state IN (?, ?) AND updated_at < ?",
                (kind, WorkState.DONE.value, WorkState.DEAD.value, to_us(before)))
            if gone.rowcount == 0:
                tx.commit = False
            return gone.rowcount
