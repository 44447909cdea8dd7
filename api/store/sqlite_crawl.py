"""The pull crawler's ledger in the SQLite backend (a mixin of SqliteStore)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager

from api.domain import Page
from api.store.base import CrawlRecord, CrawlState
from api.store.sqlite_codec import decode_cursor, encode_cursor, from_us, now_us, to_us
from api.store.sqlite_rows import check_limit

_COLUMNS = "source, build, state, attempts, reason, job, run_id, first_seen, updated_at"


def _record(row: tuple[object, ...]) -> CrawlRecord:
    source, build, state, attempts, reason, job, run_id, first_seen, updated_at = row
    return CrawlRecord(source=source, build=build, state=CrawlState(state),  # type: ignore[arg-type]
                       attempts=int(attempts), reason=reason, job=job,  # type: ignore[arg-type]
                       run_id=run_id, first_seen=from_us(first_seen),  # type: ignore[arg-type]
                       updated_at=from_us(updated_at))  # type: ignore[arg-type]


class SqliteCrawl:
    """Expects ``self._read()`` and ``self._write()`` transaction helpers from SqliteStore."""

    _read: object
    _write: object

    def _reader(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._read()  # type: ignore[operator,no-any-return]

    def put_crawl_records(self, records: Sequence[CrawlRecord]) -> None:
        if not records:
            return
        now = now_us()
        with self._write() as tx:  # type: ignore[operator]
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
        import json

        with self._reader() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM crawl_records WHERE source = ? AND build IN"
                " (SELECT value FROM json_each(?))", (source, json.dumps(list(builds))),
            ).fetchall()
        return {row[1]: _record(row) for row in rows}

    def list_crawl_records(self, source: str, *, state: CrawlState | None = None, limit: int,
                           cursor: str | None = None) -> Page:
        check_limit(limit)
        after = decode_cursor(cursor, "crawl", (str,))[0] if cursor else ""
        with self._reader() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM crawl_records WHERE source = ? AND build > ?"
                " AND (? IS NULL OR state = ?) ORDER BY build LIMIT ?",
                (source, after, state and state.value, state and state.value, limit + 1),
            ).fetchall()
        items = tuple(_record(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(items=items,
                    next_cursor=encode_cursor("crawl", [items[-1].build]) if more else None)
