"""Build logs in the SQLite backend (the ``logs`` table of ``migrations/0008_logs.sql``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from api.domain import Page, RunStatus, WriteOutcome
from api.store.codec import from_us, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.logs import LogInfo, LogKey, LogMeta, LogRef, LogStore, Packed, StoredLog, unpack
from api.store.rows import check_limit
from api.store.sqlite.db import Database
from api.store.sqlite.rows import run_pk

_INFO = ("l.step, l.sha256, l.size, l.lines, l.received_bytes, l.omitted_bytes, l.omitted_lines,"
         " l.cut_lines, l.source, l.stored_at")
_OF_RUN = ("FROM logs l JOIN runs r ON r.pk = l.run_pk JOIN jobs j ON j.id = r.job_id"
           " WHERE j.name = ? AND r.run_id = ?")


def _when(value: int) -> datetime:
    moment = from_us(value)
    assert moment is not None
    return moment


def _info(job: str, run_id: str, row: Sequence[Any]) -> LogInfo:
    step, sha, size, lines, received, omitted, omitted_lines, cut, source, stored = row[:10]
    return LogInfo(job=job, run_id=run_id, step=str(step), sha256=str(sha), size=int(size),
                   lines=int(lines),
                   meta=LogMeta(received_bytes=int(received), omitted_bytes=int(omitted),
                                omitted_lines=int(omitted_lines), cut_lines=int(cut),
                                source=str(source)),
                   stored_at=_when(stored))


class SqliteLogs(LogStore):
    """:class:`LogStore` on the store's :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put_log(self, job: str, run_id: str, step: str, text: str,
                meta: LogMeta = LogMeta()) -> WriteOutcome:  # noqa: B008  (frozen)
        packed = Packed.of(text)  # compressed before the write lock is taken
        with self._db.write() as tx:
            pk = run_pk(tx.conn, job, run_id)
            row = tx.conn.execute("SELECT sha256 FROM logs WHERE run_pk = ? AND step = ?",
                                  (pk, step)).fetchone()
            if row is not None and row[0] == packed.sha256:
                tx.commit = False
                return WriteOutcome.UNCHANGED
            tx.conn.execute(
                "INSERT INTO logs (run_pk, step, sha256, size, lines, received_bytes,"
                " omitted_bytes, omitted_lines, cut_lines, source, stored_at, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (run_pk, step) DO UPDATE SET sha256 = excluded.sha256,"
                " size = excluded.size, lines = excluded.lines,"
                " received_bytes = excluded.received_bytes,"
                " omitted_bytes = excluded.omitted_bytes, omitted_lines = excluded.omitted_lines,"
                " cut_lines = excluded.cut_lines, source = excluded.source,"
                " stored_at = excluded.stored_at, data = excluded.data",
                (pk, step, packed.sha256, packed.size, packed.lines, meta.received_bytes,
                 meta.omitted_bytes, meta.omitted_lines, meta.cut_lines, meta.source, now_us(),
                 packed.data))
            return WriteOutcome.CREATED if row is None else WriteOutcome.UPDATED

    def get_log(self, job: str, run_id: str, step: str) -> StoredLog | None:
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_INFO}, l.data {_OF_RUN} AND l.step = ?",
                               (job, run_id, step)).fetchone()
        if row is None:
            return None
        return StoredLog(info=_info(job, run_id, row), text=unpack(row[10]))

    def list_logs(self, job: str, run_id: str) -> list[LogInfo]:
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT {_INFO} {_OF_RUN} ORDER BY l.step",
                                (job, run_id)).fetchall()
        return [_info(job, run_id, row) for row in rows]

    def logs_page(self, *, after: str | None = None, since: datetime | None = None,
                  job: str | None = None, limit: int) -> Page:
        check_limit(limit)
        key = decode_cursor(after, "logs", (str, str, str)) if after is not None else None
        clauses, params = [], []
        if key is not None:
            clauses.append("(j.name, r.run_id, l.step) > (?, ?, ?)")
            params += key
        if since is not None:
            clauses.append("r.created_at >= ?")
            params.append(to_us(since))
        if job is not None:
            clauses.append("j.name = ?")
            params.append(job)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT j.name, r.run_id, l.step, r.status, r.created_at, l.stored_at"
                " FROM logs l JOIN runs r ON r.pk = l.run_pk JOIN jobs j ON j.id = r.job_id"
                f" {where} ORDER BY j.name, r.run_id, l.step LIMIT ?",
                (*params, limit + 1)).fetchall()
        items = tuple(LogRef(job=name, run_id=run, step=step, run_status=RunStatus(status),
                             run_created=_when(created), stored_at=_when(stored))
                      for name, run, step, status, created, stored in rows[:limit])
        last = items[-1] if len(rows) > limit else None
        return Page(items, None if last is None else
                    encode_cursor("logs", [last.job, last.run_id, last.step]))

    def get_texts(self, keys: Sequence[LogKey]) -> Mapping[LogKey, str]:
        if not keys:
            return {}
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT j.name, r.run_id, l.step, l.data FROM json_each(?) k"
                " JOIN jobs j ON j.name = json_extract(k.value, '$[0]')"
                " JOIN runs r ON r.job_id = j.id AND r.run_id = json_extract(k.value, '$[1]')"
                " JOIN logs l ON l.run_pk = r.pk AND l.step = json_extract(k.value, '$[2]')",
                (json.dumps([list(key) for key in keys]),)).fetchall()
        return {(name, run, step): unpack(data) for name, run, step, data in rows}

