"""History reads, baselines and the audit log of the SQLite backend (a part of SqliteStore).

Tallies are aggregated inside SQLite (one GROUP BY over the chosen runs' results) so that a
baseline over a million results never materialises them in Python.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np

from api.domain import Page
from api.stats.types import Prior, TestBaseline, TestTally
from api.store.base import (
    AuditEntry,
    BaselineVersion,
    EvidenceColumns,
    HistorySelection,
    HistoryWindow,
    NotFound,
    PayloadJobRuns,
    VerdictInputs,
)
from api.store.codec import audit_value, audit_values, from_us, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.own_runs import without_own_runs
from api.store.rows import check_limit, evidence_in
from api.store.sqlite.db import Database
from api.store.sqlite.results import test_ids
from api.store.sqlite.rows import JOB_COLUMNS, job_of, payload_of, payload_row

# Per-test tallies over the runs that ``{runs}`` selects (aliased ``u``). Status codes are
# api.domain.TestStatus: 0 passed, 1 failed, 2 error, 3 skipped, 4 flaked.
_TALLY_SQL = """
    SELECT t.suite, t.name, a.passes, a.failures, a.flakes, a.skips FROM (
        SELECT r.test_id AS id, SUM(r.status = 0) AS passes, SUM(r.status IN (1, 2)) AS failures,
               SUM(r.status = 4) AS flakes, SUM(r.status = 3) AS skips
        FROM {runs} JOIN results r ON r.run_pk = u.pk
        {where}
        GROUP BY r.test_id) a
    JOIN tests t ON t.id = a.id
"""
_BASELINE_COLUMNS = """job_id, version, created_at, runs, tests, window_days, max_runs,
    exclude_payload, latch, prior, note"""


def _tallies(rows: Iterable[tuple[Any, ...]]) -> list[TestTally]:
    return [TestTally(str(suite), str(name), int(passes), int(failures), int(flakes), int(skips))
            for suite, name, passes, failures, flakes, skips in rows]


def _time(value: int) -> datetime:
    """A stored NOT NULL microsecond time."""
    moment = from_us(int(value))
    assert moment is not None
    return moment


def _job_id(conn: sqlite3.Connection, job: str) -> int | None:
    row = conn.execute("SELECT id FROM jobs WHERE name = ?", (job,)).fetchone()
    return None if row is None else int(row[0])


def _version_of(job: str, row: tuple[Any, ...]) -> BaselineVersion:
    (_, version, created_at, runs, tests, window_days, max_runs, exclude_payload, latch,
     prior, note) = row
    return BaselineVersion(
        job=job, version=int(version), created_at=_time(created_at), runs=int(runs),
        tests=int(tests), window_days=int(window_days), max_runs=int(max_runs),
        exclude_payload=exclude_payload, latch=bool(latch),
        prior=Prior.from_dict(json.loads(prior)), note=note,
    )


def insert_audit(conn: sqlite3.Connection, job_id: int, entry: AuditEntry) -> None:
    old, new = audit_values(entry)
    conn.execute(
        "INSERT INTO audit (job_id, at, action, actor, reason, tests, version, field, old, new)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (job_id, to_us(entry.at), entry.action, entry.actor, entry.reason,
         json.dumps([list(key) for key in entry.tests], ensure_ascii=False), entry.version,
         entry.field, old, new),
    )


def _unpack(packed: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted test ids and their (passes, failures, flakes, skips) from ``test_id * 8 + status``
    codes joined by commas (parsed by numpy in C)."""
    codes = (np.fromstring(packed, dtype=np.int64, sep=",") if packed
             else np.empty(0, dtype=np.int64))
    ids, position = np.unique(codes >> 3, return_inverse=True)
    by_status = np.bincount(position * 5 + (codes & 7), minlength=len(ids) * 5).reshape(-1, 5)
    # TestStatus: 0 passed, 1 failed, 2 error, 3 skipped, 4 flaked
    return ids, np.stack([by_status[:, 0], by_status[:, 1] + by_status[:, 2],
                          by_status[:, 4], by_status[:, 3]], axis=1)


def _own_counts(conn: sqlite3.Connection, job_id: int, version: int, pks: list[int],
                ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(passes, failures, flakes) per test of ``ids`` over the payload's runs ``pks`` that the
    version counted, given ``counts`` read over all of ``pks``: one indexed probe of at most a
    few dozen keys, and a second read of results only when the version counted some of the
    payload's runs but not all (when it counted all, as after the server's scheduled refresh,
    the payload's own tallies are ``counts`` themselves)."""
    own = np.zeros((len(ids), 3), dtype=np.float64)
    if not pks:
        return own
    members = [row[0] for row in conn.execute(
        "SELECT run_pk FROM baseline_runs WHERE job_id = ? AND version = ?"
        " AND run_pk IN (SELECT value FROM json_each(?))", (job_id, version, json.dumps(pks)))]
    if len(members) == len(pks):
        own[:] = counts[:, :3]
    elif members:
        (packed,) = conn.execute(
            "SELECT group_concat(test_id * 8 + status) FROM results"
            f" WHERE run_pk IN ({','.join('?' * len(members))})", members).fetchone()
        member_ids, counts = _unpack(packed or "")
        own[np.searchsorted(ids, member_ids)] = counts[:, :3]
    return own


def _moments(joined: str | None) -> tuple[datetime, ...]:
    """Times from a ``group_concat`` of microsecond integers, oldest first."""
    return tuple(_time(value) for value in sorted(int(v) for v in (joined or "").split(",") if v))


def _payload_runs(conn: sqlite3.Connection, payload: str) -> list[PayloadJobRuns]:
    rows = conn.execute(
        f"""SELECT j.name, count(*), SUM(u.status != 'pending'),
                   SUM({evidence_in('u.status')}), max(u.updated_at),
                   group_concat(CASE WHEN u.status = 'pending'
                                THEN coalesce(u.started_at, u.created_at) END)
            FROM runs u JOIN jobs j ON j.id = u.job_id
            WHERE u.payload = ? GROUP BY u.job_id, j.name ORDER BY j.name""",
        (payload,),
    ).fetchall()
    return [PayloadJobRuns(job=str(name), total=int(total), finished=int(finished),
                           counted=int(counted), last_change=_time(changed),
                           pending_since=_moments(pending))
            for name, total, finished, counted, changed, pending in rows]


class SqliteHistory:
    """History reads, verdict inputs, baselines and the audit log on the store's
    :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def history_tallies(self, job: str, window: HistoryWindow) -> tuple[int, list[TestTally]]:
        chosen = self.history_window(job, window)
        return len(chosen.run_ids), chosen.tallies

    def history_window(self, job: str, window: HistoryWindow) -> HistorySelection:
        check_limit(window.max_runs)
        with self._db.read() as conn:
            job_id = _job_id(conn, job)
            if job_id is None:
                return HistorySelection(run_ids=(), tallies=[])
            # Materialise the chosen runs first: the aggregate then walks only their ranges of
            # the results table (which is clustered by run).
            conn.execute("DROP TABLE IF EXISTS temp.chosen_runs")
            conn.execute("CREATE TEMP TABLE chosen_runs (pk INTEGER PRIMARY KEY, run_id TEXT,"
                         " seq INTEGER)")
            try:
                conn.execute(
                    f"""INSERT INTO temp.chosen_runs
                        SELECT pk, run_id, row_number() OVER (
                            ORDER BY coalesce(started_at, created_at) DESC, pk DESC) FROM runs
                        WHERE job_id = ? AND {evidence_in()}
                          AND coalesce(started_at, created_at) >= ?
                          AND (? IS NULL OR payload IS NULL OR payload != ?)
                        ORDER BY coalesce(started_at, created_at) DESC, pk DESC LIMIT ?""",
                    (job_id, to_us(window.since) if window.since else -(2**62),
                     window.exclude_payload, window.exclude_payload, window.max_runs),
                )
                run_ids = tuple(str(run_id) for (run_id,) in conn.execute(
                    "SELECT run_id FROM temp.chosen_runs ORDER BY seq"))
                rows = conn.execute(_TALLY_SQL.format(runs="temp.chosen_runs u", where=""))
                return HistorySelection(run_ids=run_ids, tallies=_tallies(rows))
            finally:
                conn.execute("DROP TABLE IF EXISTS temp.chosen_runs")

    def payload_runs(self, payload: str) -> list[PayloadJobRuns]:
        with self._db.read() as conn:
            return _payload_runs(conn, payload)

    def verdict_inputs(self, payload: str) -> VerdictInputs:
        # Four statements in one read transaction: one snapshot, whatever the number of jobs.
        with self._db.read() as conn:
            row = payload_row(conn, payload)
            registered = None if row is None else payload_of(row)
            runs = _payload_runs(conn, payload)
            names = json.dumps(list(dict.fromkeys(
                [*(registered.expected if registered else {}), *(r.job for r in runs)])))
            jobs = [job_of(job_row) for job_row in conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs"
                " WHERE name IN (SELECT value FROM json_each(?))", (names,))]
            newest = conn.execute(
                f"""SELECT j.name, {', '.join('b.' + c.strip() for c in
                                               _BASELINE_COLUMNS.split(','))}
                    FROM jobs j JOIN baselines b ON b.job_id = j.id
                    WHERE j.name IN (SELECT value FROM json_each(?))
                      AND b.version = (SELECT max(version) FROM baselines
                                       WHERE job_id = j.id)""", (names,)).fetchall()
        return VerdictInputs(
            payload=registered, runs=tuple(runs), jobs={job.name: job for job in jobs},
            baselines={str(r[0]): _version_of(str(r[0]), tuple(r[1:])) for r in newest})

    def payload_evidence(self, job: str, payload: str,
                         baseline_version: int | None) -> EvidenceColumns:
        with self._db.read() as conn:
            job_id = _job_id(conn, job)
            pks = [] if job_id is None else [row[0] for row in conn.execute(
                f"SELECT pk FROM runs WHERE job_id = ? AND payload = ? AND {evidence_in()}",
                (job_id, payload))]
            # Each result packed as test_id * 8 + status and joined into one string by SQLite,
            # then parsed by numpy in C: four times faster than a GROUP BY (which sorts) or
            # than iterating 50,000 row tuples in Python.
            packed = ""
            if pks:
                (packed,) = conn.execute(
                    "SELECT group_concat(test_id * 8 + status) FROM results"
                    f" WHERE run_pk IN ({','.join('?' * len(pks))})", pks).fetchone()
            ids, counts = _unpack(packed)
            history = np.zeros((len(ids), 6), dtype=np.float64)
            absent = 0
            if baseline_version is not None and job_id is not None:
                records = np.array(conn.execute(
                    "SELECT test_id, runs, passes, failures, flakes, pass_rate, latched"
                    " FROM baseline_tests WHERE job_id = ? AND version = ? ORDER BY test_id",
                    (job_id, baseline_version)).fetchall(), dtype=np.float64).reshape(-1, 7)
                record_ids = records[:, 0].astype(np.int64)
                slot = np.searchsorted(record_ids, ids)
                found = slot < len(record_ids)
                found[found] = record_ids[slot[found]] == ids[found]
                history[found] = records[slot[found], 1:]
                absent = len(record_ids) - int(found.sum())
                history = without_own_runs(
                    history, _own_counts(conn, job_id, baseline_version, pks, ids, counts))
            names = conn.execute(
                "SELECT suite, name FROM tests WHERE id IN (SELECT value FROM json_each(?))"
                " ORDER BY id", (json.dumps(ids.tolist()),)).fetchall()
            marked = [] if not pks else [row[0] for row in conn.execute(
                "SELECT DISTINCT test_id FROM informing"
                f" WHERE run_pk IN ({','.join('?' * len(pks))})", pks)]
        return EvidenceColumns(suites=tuple(suite for suite, _ in names),
                               names=tuple(name for _, name in names),
                               counts=counts, history=history, absent=absent,
                               informing=np.isin(ids, np.array(marked, dtype=np.int64)))

    def put_baseline(self, job: str, *, window_days: int, max_runs: int,
                     exclude_payload: str | None, latch: bool, runs: int, prior: Prior,
                     tests: Sequence[TestBaseline], note: str | None = None,
                     audit: AuditEntry | None = None,
                     run_ids: Sequence[str] | None = None) -> BaselineVersion:
        with self._db.write() as tx:
            conn = tx.conn
            job_id = _job_id(conn, job)
            if job_id is None:
                raise NotFound(f"no job named {job!r}")
            (latest,) = conn.execute("SELECT coalesce(max(version), 0) FROM baselines"
                                     " WHERE job_id = ?", (job_id,)).fetchone()
            version = int(latest) + 1
            row = (job_id, version, now_us(), runs, len(tests), window_days, max_runs,
                   exclude_payload, int(latch), json.dumps(prior.to_dict()), note)
            conn.execute(f"INSERT INTO baselines ({_BASELINE_COLUMNS}) VALUES"
                         " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            ids = test_ids(conn, [(test.suite, test.name) for test in tests])
            conn.executemany(
                "INSERT INTO baseline_tests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(job_id, version, test_id, t.runs, t.passes, t.failures, t.flakes,
                  t.pass_rate, t.stddev, int(t.latched), t.observed_pass_rate)
                 for test_id, t in zip(ids, tests, strict=True)],
            )
            if run_ids is not None:
                # Runs deleted since the window was read are gone: nothing of theirs to remove.
                conn.execute("UPDATE baselines SET runs_recorded = 1 WHERE job_id = ?"
                             " AND version = ?", (job_id, version))
                conn.execute(
                    "INSERT OR IGNORE INTO baseline_runs SELECT ?, ?, pk FROM runs"
                    " WHERE job_id = ? AND run_id IN (SELECT value FROM json_each(?))",
                    (job_id, version, job_id, json.dumps(list(run_ids))))
            if audit is not None:
                insert_audit(conn, job_id, replace(audit, version=version))
            return _version_of(job, row)

    def baseline_run_ids(self, job: str, version: int) -> frozenset[str] | None:
        with self._db.read() as conn:
            job_id = _job_id(conn, job)
            head = None if job_id is None else conn.execute(
                "SELECT runs_recorded FROM baselines WHERE job_id = ? AND version = ?",
                (job_id, version)).fetchone()
            if head is None:
                raise NotFound(f"job {job!r} has no baseline version {version}")
            if head[0] is None:
                return None
            return frozenset(str(run_id) for (run_id,) in conn.execute(
                "SELECT u.run_id FROM baseline_runs b JOIN runs u ON u.pk = b.run_pk"
                " WHERE b.job_id = ? AND b.version = ?", (job_id, version)))

    def get_baseline(self, job: str, version: int | None = None) -> BaselineVersion | None:
        with self._db.read() as conn:
            job_id = _job_id(conn, job)
            if job_id is None:
                return None
            row = conn.execute(
                f"SELECT {_BASELINE_COLUMNS} FROM baselines WHERE job_id = ?"
                + (" AND version = ?" if version is not None else "")
                + " ORDER BY version DESC LIMIT 1",
                (job_id,) if version is None else (job_id, version),
            ).fetchone()
        return None if row is None else _version_of(job, row)

    def baseline_tests(self, job: str, version: int) -> list[TestBaseline]:
        with self._db.read() as conn:
            job_id = _job_id(conn, job)
            exists = job_id is not None and conn.execute(
                "SELECT 1 FROM baselines WHERE job_id = ? AND version = ?", (job_id, version)
            ).fetchone()
            if not exists:
                raise NotFound(f"job {job!r} has no baseline version {version}")
            rows = conn.execute(
                """SELECT t.suite, t.name, b.runs, b.passes, b.failures, b.flakes, b.pass_rate,
                          b.stddev, b.latched, b.observed_pass_rate
                   FROM baseline_tests b JOIN tests t ON t.id = b.test_id
                   WHERE b.job_id = ? AND b.version = ? ORDER BY t.suite, t.name""",
                (job_id, version),
            ).fetchall()
        return [TestBaseline(suite, name, runs, passes, failures, flakes, pass_rate, stddev,
                             latched=bool(latched), observed_pass_rate=observed)
                for suite, name, runs, passes, failures, flakes, pass_rate, stddev, latched,
                observed in rows]

    def list_baselines(self, job: str, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        before = decode_cursor(cursor, "baselines", (int,))[0] if cursor else 2**62
        with self._db.read() as conn:
            job_id = _job_id(conn, job)
            if job_id is None:
                return Page(items=(), next_cursor=None)
            rows = conn.execute(
                f"SELECT {_BASELINE_COLUMNS} FROM baselines WHERE job_id = ? AND version < ?"
                " ORDER BY version DESC LIMIT ?", (job_id, before, limit + 1)).fetchall()
        items = tuple(_version_of(job, row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(items=items,
                    next_cursor=encode_cursor("baselines", [items[-1].version]) if more else None)

    def add_audit(self, entry: AuditEntry) -> None:
        with self._db.write() as tx:
            conn = tx.conn
            job_id = _job_id(conn, entry.job)
            if job_id is None:
                raise NotFound(f"no job named {entry.job!r}")
            insert_audit(conn, job_id, entry)

    def list_audit(self, job: str, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        before = decode_cursor(cursor, "audit", (int,))[0] if cursor else 2**62
        with self._db.read() as conn:
            job_id = _job_id(conn, job)
            if job_id is None:
                return Page(items=(), next_cursor=None)
            rows = conn.execute(
                "SELECT id, at, action, actor, reason, tests, version, field, old, new"
                " FROM audit"
                " WHERE job_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                (job_id, before, limit + 1)).fetchall()
        items = tuple(
            AuditEntry(job=job, action=action, actor=actor, reason=reason,
                       tests=tuple((suite, name) for suite, name in json.loads(tests)),
                       version=version, at=_time(at), field=field,
                       old=audit_value(old), new=audit_value(new))
            for _, at, action, actor, reason, tests, version, field, old, new in rows[:limit])
        more = len(rows) > limit
        return Page(items=items,
                    next_cursor=encode_cursor("audit", [rows[limit - 1][0]]) if more else None)
