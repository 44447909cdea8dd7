"""The pull crawler's ledger in the SQLite backend (a part of SqliteStore)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from api.domain import Page
from api.store.base import CrawlRecord, CrawlState
from api.store.codec import from_us, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.sqlite.db import Database

_COLUMNS = "source, build, state, attempts, reason, job, run_id, first_seen, updated_at"


def _record(row: tuple[Any, ...]) -> CrawlRecord:
    source, build, state, attempts, reason, job, run_id, first_seen, updated_at = row
    return CrawlRecord(source=str(source), build=str(build), state=CrawlState(state),
                       attempts=int(attempts), reason=reason, job=job, run_id=run_id,
                       first_seen=from_us(first_seen), updated_at=from_us(updated_at))


class SqliteCrawl:
    """The crawl ledger's reads and writes on the store's :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put_crawl_records(self, records: Sequence[CrawlRecord]) -> None:
        if not records:
            return
        now = now_us()
        with self._db.write() as tx:
            tx.conn.executemany(
                f"INSERT INTO crawl_records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source, build) DO UPDATE SET state = excluded.state,"
                " attempts = excluded.attempts, reason = excluded.reason, job = excluded.job,"
                " run_id = excluded.run_id, updated_at = excluded.updated_at",
                [(r.source, r.build, CrawlState(r.state).value, r.attempts, r.reason, r.job,
                  r.run_id, to_us(r.first_seen) if r.first_seen else now, now)
                 for r in records],
            )

    def get_crawl_records(self, source: str, builds: Sequence[str]) -> dict[str, CrawlRecord]:
        if not builds:
            return {}
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM crawl_records WHERE source = ? AND build IN"
                " (SELECT value FROM json_each(?))", (source, json.dumps(list(builds))),
            ).fetchall()
        return {row[1]: _record(row) for row in rows}

    def list_crawl_records(self, source: str, *, state: CrawlState | None = None, limit: int,
                           cursor: str | None = None) -> Page:
        check_limit(limit)
        after = decode_cursor(cursor, "crawl", (str,))[0] if cursor else ""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM crawl_records WHERE source = ? AND build > ?"
                " AND (? IS NULL OR state = ?) ORDER BY build LIMIT ?",
                (source, after, state and state.value, state and state.value, limit + 1),
            ).fetchall()
        items = tuple(_record(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(items=items,
                    next_cursor=encode_cursor("crawl", [items[-1].build]) if more else None)
