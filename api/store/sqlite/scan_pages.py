"""Scan pages in the SQLite backend: walk, applied versions and compressed texts in one query
per job (see :mod:`api.store.scan_pages`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from isal import isal_zlib

from api.domain import Page
from api.store.codec import to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.scan_pages import ScanItem, ScanPages, format_applied
from api.store.sqlite.db import Database
from api.store.sqlite.logs import SqliteLogs

# Along the same (job_id, run_id) index and (run_pk, step) key as SqliteLogs.logs_page, with
# two lookups per log in log_scans (keyed pattern first, migration 0011): the applied versions
# as one text, and whether one of the wanted versions is missing, which alone makes the row
# carry its BLOB (a log with nothing to do costs no read of its text).
_PAGE = (
    "SELECT run_id, step, status, size, applied,"
    " CASE WHEN applied = :complete THEN NULL ELSE data END FROM"
    " (SELECT r.run_id AS run_id, l.step AS step, r.status AS status, l.size AS size,"
    "  coalesce((SELECT group_concat(a.pattern_id || ':' || a.version) FROM"
    "   (SELECT s.pattern_id, s.version FROM log_scans s"
    "    WHERE s.pattern_id IN (SELECT value FROM json_each(:ids))"
    "    AND s.run_pk = r.pk AND s.step = l.step ORDER BY s.pattern_id) a), '') AS applied,"
    "  l.data AS data"
    "  FROM runs r JOIN logs l ON l.run_pk = r.pk"
    "  WHERE r.job_id = :job_id AND r.run_id >= :run AND (:first OR r.run_id > :run"
    "  OR l.step > :step) AND (:since IS NULL OR r.created_at >= :since)"
    "  ORDER BY r.run_id, l.step LIMIT :limit)")


class SqliteScanPages(ScanPages):
    def __init__(self, db: Database) -> None:
        self._db = db

    def scan_page(self, *, versions: Mapping[int, int], after: str | None = None,
                  since: datetime | None = None, job: str | None = None, limit: int,
                  max_bytes: int) -> Page:
        check_limit(limit)
        key = decode_cursor(after, "logs", (str, str, str)) if after is not None else None
        params: dict[str, object] = {
            "ids": json.dumps(sorted(int(p) for p in versions)),
            "complete": format_applied(versions), "since": to_us(since)}
        found: list[ScanItem] = []
        held, full = 0, False
        with self._db.read() as conn:
            jobs = conn.execute(
                "SELECT id, name FROM jobs WHERE name >= ? AND (? IS NULL OR name = ?)"
                " ORDER BY name", ("" if key is None else key[0], job, job)).fetchall()
            for job_id, name in jobs:
                at_cursor = key is not None and name == key[0]
                run, step = (key[1], key[2]) if at_cursor and key else ("", "")
                rows = conn.execute(_PAGE, {**params, "job_id": job_id, "run": run,
                                            "step": step, "first": int(not at_cursor),
                                            "limit": limit + 1 - len(found)})
                # Row by row, so that the BLOBs past the byte bound are never fetched.
                for run_id, step_name, status, size, applied, data in rows:
                    if data is not None:
                        if held and held + size > max_bytes:
                            full = True
                            break
                        held += size
                    found.append(ScanItem(name, run_id, step_name, status, size, applied, data))
                rows.close()
                if full or len(found) > limit:
                    break
        items = tuple(found[:limit])
        last = items[-1] if full or len(found) > limit else None
        return Page(items, None if last is None else
                    encode_cursor("logs", [last.job, last.run_id, last.step]))

    def texts(self, items: Sequence[ScanItem]) -> list[bytes | None]:
        missing = [(i.job, i.run_id, i.step) for i in items if i.data is None]
        read: dict[tuple[str, str, str], bytes] = {}
        if missing:  # items a caller reads although they had nothing to do: rare
            read = {key: text.encode("utf-8", "surrogatepass")
                    for key, text in SqliteLogs(self._db).get_texts(missing).items()}
        return [isal_zlib.decompress(i.data) if i.data is not None
                else read.get((i.job, i.run_id, i.step)) for i in items]
