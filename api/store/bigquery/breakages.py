"""Known breakages in the BigQuery backend (a part of BigQueryStore; contract in
:mod:`api.store.breakages`).

Ids are small and sequential, as on SQLite, for people to type: an insert takes ``MAX(id) + 1``
in one statement under this process's dataset lock. Two processes may still pick the same id
at once; each insert carries a random ``token``, and when an id turns out doubled the insert
with the higher token is deleted and retried with the next id, so exactly one keeps it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from api.domain import Page
from api.failures.model import Breakage
from api.store.base import NotFound, StoreError
from api.store.bigquery.client import Connection, Typed
from api.store.bigquery.rows import new_id, now_us, ts
from api.store.breakages import (
    BreakageResolved,
    BreakageStore,
    FailedRun,
    covers,
    unique_jobs,
)
from api.store.codec import to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit

_COLUMNS = ("id, cause, jobs, pattern_id, notes, started_at, resolved_at, resolution,"
            " created_by, resolved_by")
_ATTEMPTS = 8


def _breakage_of(row: tuple[Any, ...]) -> Breakage:
    ident, cause, jobs, pattern, notes, started, resolved, resolution, by, resolved_by = row
    return Breakage(id=int(ident), cause=str(cause), jobs=tuple(json.loads(jobs)),
                    pattern_id=None if pattern is None else int(pattern), notes=str(notes),
                    started=started, resolved=resolved, resolution=resolution,
                    created_by=str(by), resolved_by=resolved_by)


class BigQueryBreakages(BreakageStore):
    """Breakages on the store's :class:`Connection`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _select(self, where: str, **params: Any) -> list[Breakage]:
        c = self._conn
        rows = c.rows(f"SELECT {_COLUMNS} FROM {c.table('breakages')} WHERE {where}"
                      " ORDER BY id DESC", **params)
        return [_breakage_of(row) for row in rows]

    def add_breakage(self, *, cause: str, jobs: Sequence[str], pattern_id: int | None,
                     notes: str, actor: str, started: datetime | None = None) -> Breakage:
        c = self._conn
        started_us = now_us() if started is None else to_us(started)
        token = new_id()
        with c.lock:
            for _ in range(_ATTEMPTS):
                c.execute(
                    f"INSERT INTO {c.table('breakages')} (id, token, cause, jobs, pattern_id,"
                    " notes, started_at, created_by) SELECT COALESCE(MAX(id), 0) + 1, @token,"
                    f" @cause, @jobs, @pattern, @notes, @started, @actor"
                    f" FROM {c.table('breakages')}",
                    token=token, cause=cause,
                    jobs=json.dumps(unique_jobs(jobs), ensure_ascii=False),
                    pattern=Typed("INT64", pattern_id), notes=notes, started=ts(started_us),
                    actor=actor)
                (ident,) = c.rows(f"SELECT id FROM {c.table('breakages')} WHERE token = @t",
                                  t=token)[0]
                rivals = c.rows(f"SELECT MIN(token) FROM {c.table('breakages')}"
                                " WHERE id = @id", id=ident)
                if rivals[0][0] == token:
                    return self._select("id = @id", id=ident)[0]
                c.execute(f"DELETE FROM {c.table('breakages')} WHERE token = @t", t=token)
        raise StoreError("could not assign a breakage id (too many concurrent writers)")

    def get_breakage(self, breakage_id: int) -> Breakage:
        found = self._select("id = @id", id=breakage_id)
        if not found:
            raise NotFound(f"no breakage {breakage_id}")
        return found[0]

    def resolve_breakage(self, breakage_id: int, *, resolution: str, actor: str,
                         at: datetime) -> Breakage:
        c = self._conn
        at_us = to_us(at)
        with c.lock:
            changed = c.execute(
                f"UPDATE {c.table('breakages')} SET resolved_at = @at, resolution = @res,"
                " resolved_by = @actor WHERE id = @id AND resolved_at IS NULL",
                at=ts(at_us), res=resolution, actor=actor, id=breakage_id)
        found = self.get_breakage(breakage_id)
        if not changed:
            raise BreakageResolved(f"breakage {breakage_id} is already resolved")
        return found

    def list_breakages(self, *, ongoing: bool | None = None, job: str | None = None,
                       limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        (before,) = decode_cursor(cursor, "breakages", (int,)) if cursor else (2**62,)
        state = {None: "", True: " AND resolved_at IS NULL",
                 False: " AND resolved_at IS NOT NULL"}[ongoing]
        kept = [b for b in self._select(f"id < @before{state}", before=before)
                if covers(b, job)]
        items = tuple(kept[:limit])
        more = len(kept) > limit
        return Page(items, encode_cursor("breakages", [items[-1].id]) if more else None)

    def ongoing_breakages(self) -> list[Breakage]:
        return self._select("resolved_at IS NULL")

    def failed_runs(self, *, payload: str | None = None, job: str | None = None,
                    since: datetime | None = None, limit: int) -> list[FailedRun]:
        check_limit(limit)
        c = self._conn
        runs = c.table("runs")
        rows = c.rows(
            "SELECT r.job, r.run_id, r.payload, COALESCE(r.started_at, r.created_at) AS moment,"
            f" EXISTS (SELECT 1 FROM {runs} s WHERE s.job = r.job AND s.payload = r.payload"
            " AND s.status = 'success')"
            f" FROM {runs} r WHERE r.status = 'failure'"
            " AND (@payload IS NULL OR r.payload = @payload) AND (@job IS NULL OR r.job = @job)"
            " AND (@since IS NULL OR COALESCE(r.started_at, r.created_at) >= @since)"
            " ORDER BY moment DESC, r.job, r.run_id LIMIT @n",
            payload=Typed("STRING", payload), job=Typed("STRING", job),
            since=Typed("TIMESTAMP", since), n=limit)
        return [FailedRun(job=str(row[0]), run_id=str(row[1]), payload=row[2], at=row[3],
                          passed_on_payload=bool(row[4])) for row in rows]
