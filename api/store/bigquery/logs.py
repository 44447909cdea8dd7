"""Build logs in the BigQuery backend: the ``logs`` and ``log_chunks`` tables.

A log's compressed bytes are split into ``log_chunks`` rows of at most
:data:`~api.store.logs.CHUNK_BYTES` (BigQuery answers rows of up to 10 MB in query results),
under a random *generation*; the ``logs`` row names the current one. A write loads the new
generation's chunks first, then flips the ``logs`` row with one compare-and-set ``MERGE`` on
the generation it read (the pattern of runs and their results, see ``store.py``), then
deletes the old generation. Chunks are base64 text in a STRING column rather than BYTES: the
emulator the tests run on keeps BYTES loaded from JSON undecoded, and one encoding that both
read alike is worth the third more bytes. Reads join the two tables in one query, so they see one
generation whole. Reads also join ``runs``: a log whose run was deleted is gone at once, even
if a writer in another process raced the deletion (the next ``delete_run`` removes it).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from api.domain import Page, RunStatus, WriteOutcome
from api.store.base import NotFound
from api.store.bigquery.client import Connection, Typed, retrying, strings
from api.store.bigquery.rows import new_id, now_us, ts
from api.store.cursor import decode_cursor, encode_cursor
from api.store.logs import (
    CHUNK_BYTES,
    LogInfo,
    LogKey,
    LogMeta,
    LogRef,
    LogStore,
    Packed,
    StoredLog,
    unpack,
)
from api.store.rows import check_limit

_INFO = ("l.step, l.sha256, l.size, l.lines, l.received_bytes, l.omitted_bytes,"
         " l.omitted_lines, l.cut_lines, l.source, l.stored_at")
# Job names, run ids and steps never contain control characters (api/names.py), so this one
# joins a key unambiguously for an IN UNNEST filter; rows are matched exactly afterwards.
_SEP = "\x1f"


def _info(job: str, run_id: str, row: Sequence[Any]) -> LogInfo:
    step, sha, size, lines, received, omitted, omitted_lines, cut, source, stored = row[:10]
    return LogInfo(job=job, run_id=run_id, step=step, sha256=sha, size=int(size),
                   lines=int(lines),
                   meta=LogMeta(received_bytes=int(received), omitted_bytes=int(omitted),
                                omitted_lines=int(omitted_lines), cut_lines=int(cut),
                                source=source),
                   stored_at=stored)


def _joined(chunks: list[tuple[int, str]]) -> str:
    return unpack(b"".join(base64.b64decode(data) for _, data in sorted(chunks)))


def delete_logs(conn: Connection, job: str, run_id: str) -> None:
    """Drop every log of a run (called by ``delete_run`` once the run's row is gone)."""
    for table in ("logs", "log_chunks"):
        conn.execute(f"DELETE FROM {conn.table(table)} WHERE job = @job AND run_id = @run_id",
                     job=job, run_id=run_id)


class BigQueryLogs(LogStore):
    """:class:`LogStore` on the store's :class:`Connection`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _from(self, where: str, *, chunks: bool = False) -> str:
        """FROM the logs of existing runs (and their current chunks, ``k``), WHERE ``where``."""
        c = self._conn
        sql = (f" FROM {c.table('logs')} l JOIN {c.table('runs')} r"
               " ON r.job = l.job AND r.run_id = l.run_id")
        if chunks:
            sql += (f" JOIN {c.table('log_chunks')} k ON k.job = l.job AND k.run_id = l.run_id"
                    " AND k.step = l.step AND k.gen = l.gen")
        return f"{sql} WHERE {where}"

    def put_log(self, job: str, run_id: str, step: str, text: str,
                meta: LogMeta = LogMeta()) -> WriteOutcome:  # noqa: B008  (frozen)
        packed = Packed.of(text)
        c = self._conn
        pieces = [packed.data[i:i + CHUNK_BYTES]
                  for i in range(0, len(packed.data), CHUNK_BYTES)]

        def attempt() -> WriteOutcome | None:
            if not c.rows(f"SELECT 1 FROM {c.table('runs')} WHERE job = @job"
                          " AND run_id = @run_id", job=job, run_id=run_id):
                raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
            old = c.rows(f"SELECT gen, sha256 FROM {c.table('logs')} WHERE job = @job"
                         " AND run_id = @run_id AND step = @step",
                         job=job, run_id=run_id, step=step)
            if old and old[0][1] == packed.sha256:
                return WriteOutcome.UNCHANGED
            old_gen = int(old[0][0]) if old else None
            gen = new_id()
            c.append("log_chunks", ({"job": job, "run_id": run_id, "step": step, "gen": gen,
                                   "seq": seq, "data": base64.b64encode(piece).decode("ascii")}
                                  for seq, piece in enumerate(pieces)))
            values: dict[str, Any] = {
                "job": job, "run_id": run_id, "step": step, "gen": gen, "chunks": len(pieces),
                "sha256": packed.sha256, "size": packed.size, "lines": packed.lines,
                "received_bytes": meta.received_bytes, "omitted_bytes": meta.omitted_bytes,
                "omitted_lines": meta.omitted_lines, "cut_lines": meta.cut_lines,
                "source": meta.source, "stored_at": ts(now_us())}
            names = list(values)
            sets = ", ".join(f"{k} = @{k}" for k in names if k not in ("job", "run_id", "step"))
            won = c.execute(
                f"MERGE {c.table('logs')} T USING (SELECT @job AS job, @run_id AS run_id,"
                " @step AS step) S ON T.job = S.job AND T.run_id = S.run_id AND T.step = S.step"
                f" WHEN MATCHED AND T.gen = @old THEN UPDATE SET {sets}"
                f" WHEN NOT MATCHED AND @old IS NULL THEN INSERT ({', '.join(names)})"
                f" VALUES ({', '.join('@' + k for k in names)})",
                old=Typed("INT64", old_gen), **values) == 1
            dropped = old_gen if won else gen
            if dropped is not None:
                c.execute(f"DELETE FROM {c.table('log_chunks')} WHERE job = @job"
                          " AND run_id = @run_id AND step = @step AND gen = @gen",
                          job=job, run_id=run_id, step=step, gen=dropped)
            if not won:
                return None
            return WriteOutcome.CREATED if old_gen is None else WriteOutcome.UPDATED

        return retrying(c, attempt)

    def get_log(self, job: str, run_id: str, step: str) -> StoredLog | None:
        rows = self._conn.rows(
            f"SELECT {_INFO}, k.seq, k.data" + self._from(
                "l.job = @job AND l.run_id = @run_id AND l.step = @step", chunks=True),
            job=job, run_id=run_id, step=step)
        if not rows:
            return None
        return StoredLog(info=_info(job, run_id, rows[0]),
                         text=_joined([(int(row[10]), row[11]) for row in rows]))

    def list_logs(self, job: str, run_id: str) -> list[LogInfo]:
        rows = self._conn.rows(
            f"SELECT {_INFO}" + self._from("l.job = @job AND l.run_id = @run_id")
            + " ORDER BY l.step", job=job, run_id=run_id)
        return [_info(job, run_id, row) for row in rows]

    def logs_page(self, *, after: str | None = None, since: datetime | None = None,
                  job: str | None = None, limit: int) -> Page:
        check_limit(limit)
        key = decode_cursor(after, "logs", (str, str, str)) if after is not None else None
        clauses = ["TRUE"]
        params: dict[str, Any] = {"n": limit + 1}
        if key is not None:
            clauses.append("(l.job > @aj OR (l.job = @aj AND (l.run_id > @ar"
                           " OR (l.run_id = @ar AND l.step > @as_))))")
            params.update(aj=key[0], ar=key[1], as_=key[2])
        if since is not None:
            clauses.append("r.created_at >= @since")
            params["since"] = since
        if job is not None:
            clauses.append("l.job = @job")
            params["job"] = job
        rows = self._conn.rows(
            "SELECT l.job, l.run_id, l.step, r.status, r.created_at, l.stored_at, l.size"
            + self._from(" AND ".join(clauses)) + " ORDER BY l.job, l.run_id, l.step LIMIT @n",
            **params)
        items = tuple(LogRef(job=name, run_id=run, step=step, run_status=RunStatus(status),
                             run_created=created, stored_at=stored, size=int(size))
                      for name, run, step, status, created, stored, size in rows[:limit])
        last = items[-1] if len(rows) > limit else None
        return Page(items, None if last is None else
                    encode_cursor("logs", [last.job, last.run_id, last.step]))

    def get_texts(self, keys: Sequence[LogKey]) -> Mapping[LogKey, str]:
        if not keys:
            return {}
        wanted = set(keys)
        rows = self._conn.rows(
            "SELECT l.job, l.run_id, l.step, k.seq, k.data" + self._from(
                "CONCAT(l.job, @sep, l.run_id, @sep, l.step) IN UNNEST(@keys)", chunks=True),
            sep=_SEP, keys=strings([_SEP.join(key) for key in wanted]))
        chunks: dict[LogKey, list[tuple[int, str]]] = defaultdict(list)
        for job, run_id, step, seq, data in rows:
            if (job, run_id, step) in wanted:
                chunks[(job, run_id, step)].append((int(seq), data))
        return {key: _joined(parts) for key, parts in chunks.items()}
