"""The reads behind the pages in the BigQuery backend (a part of BigQueryStore; contract in
:mod:`api.store.page_reads`).

BigQuery keeps no interned tests table, and a test key (a SHA-256 of the JSON pair) cannot be
computed in SQL the same way on every engine, so a key is resolved in Python against the
job's distinct ``(suite, name)`` of its runs' current results (one query; columnar storage
reads only those three columns); the history then filters the job's results by that suite and
name, joined to the runs' current generation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.domain import Page, RunStatus
from api.pages_urls import key_for_test
from api.stats.types import TestBaseline
from api.store.bigquery.client import Connection
from api.store.bigquery.rows import ts
from api.store.codec import STATUSES, from_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.errors import InvalidCursor
from api.store.page_reads import PageReads, PayloadSeen, TestOutcome, TestRef
from api.store.rows import check_limit


def _utc(moment: datetime) -> datetime:
    """A stored NOT NULL time as the store hands times out (UTC, microseconds)."""
    value = from_us(to_us(moment))
    assert value is not None
    return value


class BigQueryPageReads(PageReads):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def recent_payloads(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        c = self._conn
        params: dict[str, Any] = {"n": limit + 1}
        where = ""
        if cursor is not None:
            c_at, params["c_id"] = decode_cursor(cursor, "payloads", (int, str))
            params["c_at"] = ts(c_at)
            where = " WHERE first < @c_at OR (first = @c_at AND id < @c_id)"
        rows = c.rows(
            "SELECT id, first, reg FROM (SELECT id, MIN(seen) AS first, MAX(reg) AS reg FROM ("
            f" SELECT payload AS id, MIN(created_at) AS seen, 0 AS reg FROM {c.table('runs')}"
            " WHERE payload IS NOT NULL GROUP BY payload"
            f" UNION ALL SELECT id, created_at AS seen, 1 AS reg FROM {c.table('payloads')})"
            f" GROUP BY id){where} ORDER BY first DESC, id DESC LIMIT @n", **params)
        items = tuple(PayloadSeen(id=str(ident), first_seen=_utc(first),
                                  registered=bool(reg)) for ident, first, reg in rows[:limit])
        if len(rows) <= limit:
            return Page(items, None)
        last = items[-1]
        return Page(items, encode_cursor("payloads", [to_us(last.first_seen), last.id]))

    def find_test(self, job: str, key: str) -> TestRef | None:
        c = self._conn
        rows = c.rows(
            f"SELECT DISTINCT r.suite, r.name FROM {c.table('runs')} u"
            f" JOIN {c.table('results')} r ON r.job = u.job AND r.run_id = u.run_id"
            " AND r.run_day = u.run_day AND r.gen = u.gen"
            " WHERE u.job = @job AND r.job = @job", job=job)
        for suite, name in rows:
            if key_for_test(suite, name) == key:
                return TestRef(key=key, suite=str(suite), name=str(name))
        return None

    def test_history(self, job: str, key: str, *, limit: int,
                     cursor: str | None = None) -> Page:
        check_limit(limit)
        params: dict[str, Any] = {"job": job, "n": limit + 1}
        after = ""
        if cursor is not None:
            owner, owner_key, c_at, params["c_id"] = decode_cursor(
                cursor, "test_history", (str, str, int, str))
            if (owner, owner_key) != (job, key):
                raise InvalidCursor("the cursor belongs to another test's history")
            params["c_at"] = ts(c_at)
            after = " AND (u.created_at < @c_at OR (u.created_at = @c_at AND u.run_id < @c_id))"
        test = self.find_test(job, key)
        if test is None:
            return Page((), None)
        c = self._conn
        rows = c.rows(
            "SELECT u.run_id, u.payload, u.created_at, u.status, r.status, r.duration_ms,"
            f" r.message FROM {c.table('runs')} u JOIN {c.table('results')} r"
            " ON r.job = u.job AND r.run_id = u.run_id AND r.run_day = u.run_day"
            " AND r.gen = u.gen WHERE u.job = @job AND r.job = @job AND r.suite = @suite"
            f" AND r.name = @name{after} ORDER BY u.created_at DESC, u.run_id DESC LIMIT @n",
            suite=test.suite, name=test.name, **params)
        items = tuple(
            TestOutcome(run_id=str(run_id), payload=payload, created_at=_utc(created),
                        run_status=RunStatus(run_status), status=STATUSES[int(status)],
                        duration_s=None if duration is None else duration / 1000,
                        message=message)
            for run_id, payload, created, run_status, status, duration, message in rows[:limit])
        if len(rows) <= limit:
            return Page(items, None)
        last = items[-1]
        return Page(items, encode_cursor("test_history",
                                         [job, key, to_us(last.created_at), last.run_id]))

    def baseline_record(self, job: str, version: int, suite: str,
                        name: str) -> TestBaseline | None:
        c = self._conn
        # Only the version's own token: a version is visible once its header row names it.
        rows = c.rows(
            f"SELECT t.runs, t.passes, t.failures, t.flakes, t.pass_rate, t.stddev, t.latched,"
            f" t.observed_pass_rate FROM {c.table('baselines')} b"
            f" JOIN {c.table('baseline_tests')} t ON t.job = b.job AND t.version = b.version"
            " AND t.token = b.token WHERE b.job = @job AND b.version = @v AND t.job = @job"
            " AND t.version = @v AND t.suite = @suite AND t.name = @name",
            job=job, v=version, suite=suite, name=name)
        if not rows:
            return None
        runs, passes, failures, flakes, rate, stddev, latched, observed = rows[0]
        return TestBaseline(suite, name, int(runs), int(passes), int(failures), int(flakes),
                            float(rate), float(stddev), latched=bool(latched),
                            observed_pass_rate=None if observed is None else float(observed))
