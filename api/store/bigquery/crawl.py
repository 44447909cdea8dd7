"""The pull crawler's ledger in the BigQuery backend (a part of BigQueryStore)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.domain import Page
from api.store.base import CrawlRecord, CrawlState
from api.store.bigquery.client import Connection, Typed, strings
from api.store.bigquery.rows import new_id, now_us, ts
from api.store.codec import from_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit

_CRAWL = "source, build, state, attempts, reason, job, run_id, first_seen, updated_at"


def _crawl_record(row: tuple[Any, ...]) -> CrawlRecord:
    source, build, state, attempts, reason, job, run_id, first_seen, updated_at = row
    return CrawlRecord(source=source, build=build, state=CrawlState(state),
                       attempts=int(attempts), reason=reason, job=job, run_id=run_id,
                       first_seen=first_seen, updated_at=updated_at)


class BigQueryCrawl:
    """The crawl ledger on the store's :class:`Connection`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn


    def put_crawl_records(self, records: Sequence[CrawlRecord]) -> None:
        if not records:
            return
        c = self._conn
        now = now_us()
        latest: dict[tuple[str, str], CrawlRecord] = {}
        for record in records:  # the last put of a build within one call wins
            CrawlState(record.state)
            latest[(record.source, record.build)] = record
        batch = new_id()
        # Loaded into a staging table, then applied with one MERGE (atomic for the whole
        # batch), then the staged rows are dropped; a crash leaves only unread staging rows.
        with c.lock:
            c.append("crawl_staging", (
                {"batch": batch, "source": r.source, "build": r.build,
                 "state": CrawlState(r.state).value, "attempts": int(r.attempts),
                 "reason": r.reason, "job": r.job, "run_id": r.run_id,
                 "first_seen": from_us(to_us(r.first_seen) if r.first_seen else now)}
                for r in latest.values()))
            try:
                c.execute(
                    f"MERGE {c.table('crawl_records')} T USING (SELECT * FROM"
                    f" {c.table('crawl_staging')} WHERE batch = @batch) S"
                    " ON T.source = S.source AND T.build = S.build"
                    " WHEN MATCHED THEN UPDATE SET state = S.state, attempts = S.attempts,"
                    " reason = S.reason, job = S.job, run_id = S.run_id, updated_at = @now"
                    f" WHEN NOT MATCHED THEN INSERT ({_CRAWL}) VALUES (S.source, S.build,"
                    " S.state, S.attempts, S.reason, S.job, S.run_id, S.first_seen, @now)",
                    batch=batch, now=ts(now))
            finally:
                c.execute(f"DELETE FROM {c.table('crawl_staging')} WHERE batch = @batch",
                          batch=batch)

    def get_crawl_records(self, source: str, builds: Sequence[str]) -> dict[str, CrawlRecord]:
        if not builds:
            return {}
        c = self._conn
        rows = c.rows(f"SELECT {_CRAWL} FROM {c.table('crawl_records')} WHERE source = @source"
                      " AND build IN UNNEST(@builds)", source=source, builds=strings(builds))
        return {row[1]: _crawl_record(row) for row in rows}

    def list_crawl_records(self, source: str, *, state: CrawlState | None = None, limit: int,
                           cursor: str | None = None) -> Page:
        check_limit(limit)
        after = decode_cursor(cursor, "crawl", (str,))[0] if cursor else ""
        c = self._conn
        rows = c.rows(f"SELECT {_CRAWL} FROM {c.table('crawl_records')} WHERE source = @source"
                      " AND build > @after AND (@state IS NULL OR state = @state)"
                      " ORDER BY build LIMIT @n", source=source, after=after,
                      state=Typed("STRING", state and CrawlState(state).value), n=limit + 1)
        items = tuple(_crawl_record(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(items=items,
                    next_cursor=encode_cursor("crawl", [items[-1].build]) if more else None)
