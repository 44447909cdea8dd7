"""Build logs in the SQLite backend (the ``logs`` table of ``migrations/0008_logs.sql``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from api.domain import Page, RunStatus, WriteOutcome
from api.store.codec import EPOCH, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.logs import LogInfo, LogKey, LogMeta, LogRef, LogStore, Packed, StoredLog, unpack
from api.store.rows import check_limit
from api.store.sqlite.db import Database
from api.store.sqlite.rows import run_pk

_INFO = ("l.step, l.sha256, l.size, l.lines, l.received_bytes, l.omitted_bytes, l.omitted_lines,"
         " l.cut_lines, l.source, l.stored_at")
_OF_RUN = ("FROM logs l JOIN runs r ON r.pk = l.run_pk JOIN jobs j ON j.id = r.job_id"
           " WHERE j.name = ? AND r.run_id = ?")


_STATUS = {status.value: status for status in RunStatus}


def _when(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)  # from_us without its None case


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
        found: list[LogRef] = []
        with self._db.read() as conn:
            # Job by job in name order, each walked along the (job_id, run_id) index and the
            # logs' (run_pk, step) key: a page costs its own rows, never a sort of every log
            # (one ORDER BY over the three-table join made a walk quadratic in the logs).
            jobs = conn.execute(
                "SELECT id, name FROM jobs WHERE name >= ? AND (? IS NULL OR name = ?)"
                " ORDER BY name", ("" if key is None else key[0], job, job)).fetchall()
            for job_id, name in jobs:
                at_cursor = key is not None and name == key[0]
                run_after, step_after = (key[1], key[2]) if at_cursor and key else ("", "")
                rows = conn.execute(
                    "SELECT r.run_id, l.step, r.status, r.created_at, l.stored_at, l.size"
                    " FROM runs r JOIN logs l ON l.run_pk = r.pk"
                    " WHERE r.job_id = ? AND r.run_id >= ? AND (? OR r.run_id > ? OR l.step > ?)"
                    " AND (? IS NULL OR r.created_at >= ?) ORDER BY r.run_id, l.step LIMIT ?",
                    (job_id, run_after, int(not at_cursor), run_after, step_after,
                     to_us(since), to_us(since), limit + 1 - len(found))).fetchall()
                found += (LogRef(job=name, run_id=run, step=step, run_status=_STATUS[status],
                                 run_created=_when(created), stored_at=_when(stored),
                                 size=int(size))
                          for run, step, status, created, stored, size in rows)
                if len(found) > limit:
                    break
        items = tuple(found[:limit])
        last = items[-1] if len(found) > limit else None
        return Page(items, None if last is None else
                    encode_cursor("logs", [last.job, last.run_id, last.step]))

    def get_texts(self, keys: Sequence[LogKey]) -> Mapping[LogKey, str]:
        wanted = set(keys)
        by_job: dict[str, tuple[set[str], set[str]]] = {}
        for job, run_id, step in wanted:
            run_ids, steps = by_job.setdefault(job, (set(), set()))
            run_ids.add(run_id)
            steps.add(step)
        found: dict[LogKey, bytes] = {}
        with self._db.read() as conn:
            # Per job, along the (job_id, run_id) index: cheaper than joining on three JSON
            # fields of every key. A (run, step) not asked for (the step named for another
            # run) is read and dropped.
            for job, (run_ids, steps) in by_job.items():
                rows = conn.execute(
                    "SELECT r.run_id, l.step, l.data FROM runs r JOIN logs l ON l.run_pk = r.pk"
                    " WHERE r.job_id = (SELECT id FROM jobs WHERE name = ?)"
                    " AND r.run_id IN (SELECT value FROM json_each(?))"
                    " AND l.step IN (SELECT value FROM json_each(?))",
                    (job, json.dumps(sorted(run_ids)), json.dumps(sorted(steps)))).fetchall()
                found.update(((job, run_id, step), data) for run_id, step, data in rows
                             if (job, run_id, step) in wanted)
        return {key: unpack(data) for key, data in found.items()}
