"""The reads behind the pages in the SQLite backend (a part of SqliteStore; contract in
:mod:`api.store.page_reads`).

A test key is a column of the interned ``tests`` row (migration 0014), so resolving one is an
index probe; a test's history walks the job's runs newest first and probes each run's result
of that one test by primary key ``(run_pk, test_id)``: 1,000 runs are 1,000 probes.
"""

from __future__ import annotations

from typing import Any

from api.domain import Page, RunStatus
from api.stats.types import TestBaseline
from api.store.codec import STATUSES, from_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.errors import InvalidCursor
from api.store.page_reads import PageReads, PayloadSeen, TestOutcome, TestRef
from api.store.rows import check_limit
from api.store.sqlite.db import Database

# The job's test with the key, provided one of the job's runs holds a result of it. The EXISTS
# walks the job's runs by index and stops at the first run that has the test.
_FIND = (
    "SELECT t.id, t.suite, t.name FROM tests AS t WHERE t.key = :key AND EXISTS ("
    " SELECT 1 FROM runs AS r JOIN results AS s ON s.run_pk = r.pk AND s.test_id = t.id"
    " WHERE r.job_id = (SELECT id FROM jobs WHERE name = :job))"
    " ORDER BY t.id LIMIT 1"
)


class SqlitePageReads(PageReads):
    def __init__(self, db: Database) -> None:
        self.db = db

    def recent_payloads(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        params: dict[str, Any] = {"n": limit + 1}
        having = ""
        if cursor is not None:
            params["c_at"], params["c_id"] = decode_cursor(cursor, "payloads", (int, str))
            having = " HAVING first < :c_at OR (first = :c_at AND id < :c_id)"
        rows = self.db.conn.execute(
            "SELECT id, min(seen) AS first, max(reg) FROM ("
            " SELECT payload AS id, min(created_at) AS seen, 0 AS reg FROM runs"
            " WHERE payload IS NOT NULL GROUP BY payload"
            " UNION ALL SELECT id, created_at, 1 FROM payloads)"
            f" GROUP BY id{having} ORDER BY first DESC, id DESC LIMIT :n", params).fetchall()
        items = []
        for ident, first, registered in rows[:limit]:
            seen = from_us(first)
            assert seen is not None
            items.append(PayloadSeen(id=str(ident), first_seen=seen, registered=bool(registered)))
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return Page(tuple(items),
                    encode_cursor("payloads", [int(last[1]), str(last[0])]) if last else None)

    def _find(self, job: str, key: str) -> tuple[int, TestRef] | None:
        row = self.db.conn.execute(_FIND, {"key": key, "job": job}).fetchone()
        if row is None:
            return None
        return int(row[0]), TestRef(key=key, suite=str(row[1]), name=str(row[2]))

    def find_test(self, job: str, key: str) -> TestRef | None:
        found = self._find(job, key)
        return None if found is None else found[1]

    def test_history(self, job: str, key: str, *, limit: int,
                     cursor: str | None = None) -> Page:
        check_limit(limit)
        params: dict[str, Any] = {"job": job, "n": limit + 1}
        after = ""
        if cursor is not None:
            owner, owner_key, params["c_at"], params["c_id"] = decode_cursor(
                cursor, "test_history", (str, str, int, str))
            if (owner, owner_key) != (job, key):
                raise InvalidCursor("the cursor belongs to another test's history")
            after = " AND (r.created_at < :c_at OR (r.created_at = :c_at AND r.run_id < :c_id))"
        with self.db.read() as conn:
            found = self._find(job, key)
            if found is None:
                return Page((), None)
            params["tid"] = found[0]
            rows = conn.execute(
                "SELECT r.run_id, r.payload, r.created_at, r.status, s.status, s.duration_ms,"
                " m.message FROM runs AS r"
                " JOIN results AS s ON s.run_pk = r.pk AND s.test_id = :tid"
                " LEFT JOIN messages AS m ON m.run_pk = r.pk AND m.test_id = :tid"
                f" WHERE r.job_id = (SELECT id FROM jobs WHERE name = :job){after}"
                " ORDER BY r.created_at DESC, r.run_id DESC LIMIT :n", params).fetchall()
        items = tuple(_outcome(row) for row in rows[:limit])
        if len(rows) <= limit:
            return Page(items, None)
        last = rows[limit - 1]
        return Page(items, encode_cursor("test_history", [job, key, int(last[2]), str(last[0])]))

    def baseline_record(self, job: str, version: int, suite: str,
                        name: str) -> TestBaseline | None:
        row = self.db.conn.execute(
            "SELECT b.runs, b.passes, b.failures, b.flakes, b.pass_rate, b.stddev, b.latched,"
            " b.observed_pass_rate FROM baseline_tests AS b"
            " WHERE b.job_id = (SELECT id FROM jobs WHERE name = :job) AND b.version = :v"
            " AND b.test_id = (SELECT id FROM tests WHERE suite = :suite AND name = :name)",
            {"job": job, "v": version, "suite": suite, "name": name}).fetchone()
        if row is None:
            return None
        runs, passes, failures, flakes, rate, stddev, latched, observed = row
        return TestBaseline(suite, name, runs, passes, failures, flakes, rate, stddev,
                            latched=bool(latched), observed_pass_rate=observed)


def _outcome(row: tuple[Any, ...]) -> TestOutcome:
    run_id, payload, created, run_status, status, duration, message = row
    created_at = from_us(created)
    assert created_at is not None
    return TestOutcome(run_id=str(run_id), payload=payload, created_at=created_at,
                       run_status=RunStatus(run_status), status=STATUSES[int(status)],
                       duration_s=None if duration is None else duration / 1000,
                       message=message)
