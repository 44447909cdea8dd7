"""Durable background work in the BigQuery backend (a part of BigQueryStore; contract in
:mod:`api.store.work`).

BigQuery has no multi-statement transaction here, so each step that must be atomic is ONE DML
statement, which BigQuery applies to a table one at a time: an enqueue is an ``INSERT ...
SELECT ... WHERE NOT EXISTS`` (the dedupe check and the insert together), a claim an ``UPDATE``
of one candidate guarded by its due condition (of two workers racing for it, one changes the
row and the other changes nothing, or is aborted as a conflict, and picks again).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from api.domain import Page
from api.store.bigquery.client import Conflict, Connection, Typed, strings
from api.store.bigquery.rows import now_us, ts
from api.store.codec import to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.work import Enqueued, WorkItem, WorkQueue, WorkState

_COLUMNS = ("id, kind, key, body, state, attempts, not_before, holder, lease_until, error,"
            " created_at, updated_at")
_CLAIM_TRIES = 5
_QUEUED = WorkState.QUEUED.value
# A waiting item: queued, not under an unexpired lease.
_WAITING = f"state = '{_QUEUED}' AND (lease_until IS NULL OR lease_until <= @now)"


def _item_of(row: tuple[Any, ...]) -> WorkItem:
    ident, kind, key, body, state, attempts, not_before, holder, lease, error, made, upd = row
    return WorkItem(id=str(ident), kind=str(kind), key=str(key), body=str(body),
                    state=WorkState(state), attempts=int(attempts), not_before=not_before,
                    holder=holder, lease_until=lease, error=error, created_at=made,
                    updated_at=upd)


class BigQueryWork(WorkQueue):
    """The work queue on the store's :class:`Connection`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _select(self, where: str, tail: str = "", **params: Any) -> list[WorkItem]:
        c = self._conn
        rows = c.rows(f"SELECT {_COLUMNS} FROM {c.table('work')} WHERE {where}{tail}", **params)
        return [_item_of(row) for row in rows]

    def enqueue(self, kind: str, key: str, body: str, *, not_before: datetime | None = None,
                once: bool = False) -> Enqueued:
        c = self._conn
        now = now_us()
        due = now if not_before is None else to_us(not_before)
        ident = uuid.uuid4().hex
        blocking = "TRUE" if once else _WAITING
        table = c.table("work")
        with c.lock:
            inserted = c.execute(
                f"INSERT INTO {table} ({_COLUMNS}) SELECT @id, @kind, @key, @body, '{_QUEUED}',"
                " 0, @due, NULL, NULL, NULL, @now, @now FROM UNNEST([1])"
                f" WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE kind = @kind AND key = @key"
                f" AND {blocking})",
                id=ident, kind=kind, key=key, body=body, due=ts(due), now=ts(now))
            if inserted:
                return Enqueued(self._select("id = @id", id=ident)[0], created=True)
            if not once:  # the waiting item keeps the earlier of the two due times
                c.execute(f"UPDATE {table} SET not_before = @due, updated_at = @now"
                          f" WHERE kind = @kind AND key = @key AND {_WAITING}"
                          " AND not_before > @due", kind=kind, key=key, due=ts(due),
                          now=ts(now))
            order = " ORDER BY created_at LIMIT 1" if once else " ORDER BY not_before LIMIT 1"
            found = self._select(f"kind = @kind AND key = @key AND ({blocking})", order,
                                 kind=kind, key=key, now=ts(now))
        if not found:  # the waiting item was claimed in between: it no longer stands for us
            return self.enqueue(kind, key, body, not_before=not_before, once=once)
        return Enqueued(found[0], created=False)

    def claim(self, holder: str, lease_s: float, *,
              kinds: tuple[str, ...] | None = None) -> WorkItem | None:
        if kinds is not None and not kinds:
            return None
        c = self._conn
        table = c.table("work")
        of_kinds = "" if kinds is None else " AND w.kind IN UNNEST(@kinds)"
        for _ in range(_CLAIM_TRIES):
            now = now_us()
            params: dict[str, Any] = {"now": ts(now)}
            if kinds is not None:
                params["kinds"] = strings(list(kinds))
            rows = c.rows(
                f"SELECT w.id FROM {table} w WHERE w.state = '{_QUEUED}'"
                " AND w.not_before <= @now AND (w.lease_until IS NULL OR w.lease_until <= @now)"
                f"{of_kinds} AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.kind = w.kind"
                f" AND o.key = w.key AND o.id != w.id AND o.state = '{_QUEUED}'"
                " AND o.lease_until > @now) ORDER BY w.not_before, w.created_at LIMIT 1",
                **params)
            if not rows:
                return None
            ident = rows[0][0]
            try:
                taken = c.execute(
                    f"UPDATE {table} SET holder = @holder, lease_until = @until,"
                    " attempts = attempts + 1, updated_at = @now WHERE id = @id"
                    f" AND {_WAITING}", holder=holder, id=ident, now=ts(now),
                    until=ts(now + max(1, int(lease_s * 1_000_000))))
            except Conflict:
                taken = 0
            if taken:
                return self._select("id = @id", id=ident)[0]
        return None  # lost every race this time: the next tick tries again

    def _finish(self, item_id: str, holder: str, sets: str, **params: Any) -> bool:
        c = self._conn
        now = now_us()
        try:
            changed = c.execute(
                f"UPDATE {c.table('work')} SET {sets}, updated_at = @now WHERE id = @id"
                f" AND holder = @holder AND state = '{_QUEUED}' AND lease_until > @now",
                id=item_id, holder=holder, now=ts(now), **params)
        except Conflict:
            return False
        return changed == 1

    def complete(self, item_id: str, holder: str) -> bool:
        return self._finish(item_id, holder, "state = @state, lease_until = NULL",
                            state=WorkState.DONE.value)

    def fail(self, item_id: str, holder: str, error: str, *,
             retry_at: datetime | None) -> bool:
        if retry_at is None:
            return self._finish(item_id, holder,
                                "state = @state, error = @error, lease_until = NULL",
                                state=WorkState.DEAD.value, error=error)
        return self._finish(item_id, holder, "error = @error, not_before = @due,"
                            " lease_until = NULL, holder = NULL", error=error,
                            due=ts(to_us(retry_at)))

    def get_work(self, item_id: str) -> WorkItem | None:
        found = self._select("id = @id", id=item_id)
        return found[0] if found else None

    def list_work(self, *, state: WorkState | None = None, kind: str | None = None,
                  limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        where = ["TRUE"]
        params: dict[str, Any] = {"limit": limit + 1}
        if cursor:
            created, ident = decode_cursor(cursor, "work", (int, str))
            where.append("(created_at < @c OR (created_at = @c AND id < @i))")
            params.update(c=ts(created), i=ident)
        if state is not None:
            where.append("state = @state")
            params["state"] = state.value
        if kind is not None:
            where.append("kind = @kind")
            params["kind"] = kind
        found = self._select(" AND ".join(where), " ORDER BY created_at DESC, id DESC"
                             " LIMIT @limit", **params)
        items = tuple(found[:limit])
        if len(found) <= limit:
            return Page(items, None)
        last = items[-1]
        return Page(items, encode_cursor("work", [to_us(last.created_at), last.id]))

    def purge_work(self, kind: str, before: datetime) -> int:
        c = self._conn
        try:
            return c.execute(
                f"DELETE FROM {c.table('work')} WHERE kind = @kind AND state IN UNNEST(@states)"
                " AND updated_at < @before", kind=kind, before=Typed("TIMESTAMP", before),
                states=strings([WorkState.DONE.value, WorkState.DEAD.value]))
        except Conflict:
            return 0  # another worker is purging the same rows
