"""Runs and their test results in the SQLite backend (a part of SqliteStore).

A run's tests are written in one batch per call: interned ids, then one ``executemany``; its
counts are updated in the same transaction. See ``migrations/0001_initial.sql`` for the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from api.domain import (
    Page,
    Run,
    RunCounts,
    RunSpec,
    RunStatus,
    TestResult,
    WriteOutcome,
)
from api.store.base import (
    AttachedFile,
    AuditEntry,
    InvalidCursor,
    RunFilter,
)
from api.store.batch import Batch, new_attachments, prepare_tests
from api.store.codec import STATUSES, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.sqlite.db import Database, Tx
from api.store.sqlite.history import insert_audit
from api.store.sqlite.results import (
    EMPTY_FINGERPRINT,
    count_columns,
    fingerprint_of,
    forget_tests,
    insert_results,
    merge_results,
    test_ids,
)
from api.store.sqlite.rows import (
    CREATED_AT,
    PK,
    RUN_COLUMNS,
    SPEC,
    TESTS_HASH,
    ensure_job,
    load_run,
    load_runs,
    run_pk,
    spec_columns,
)


class SqliteRuns:
    """Runs and their tests on the store's :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put_run(
        self, spec: RunSpec, tests: Sequence[TestResult] | None = None
    ) -> tuple[Run, WriteOutcome]:
        columns = spec_columns(spec)
        batch = None if tests is None else prepare_tests(tests)
        with self._db.write() as tx:
            conn = tx.conn
            now = now_us()
            job_id = ensure_job(conn, spec.job, now)
            row = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE job_id = ? AND run_id = ?",
                (job_id, spec.run_id),
            ).fetchone()
            triples: list[tuple[int, int, int | None]] = []
            notes: list[tuple[int, str]] = []
            informing: list[int] = []
            fingerprint = EMPTY_FINGERPRINT
            if batch is not None and batch.keys:
                ids = test_ids(conn, batch.keys)
                triples = sorted(zip(ids, batch.statuses, batch.durations, strict=True))
                notes = sorted((ids[i], message) for i, message in batch.messages)
                informing = sorted(ids[i] for i in batch.informing)
                fingerprint = fingerprint_of(triples, notes, informing)
            has_files = None
            if row is not None:
                spec_same = row[SPEC] == columns
                has_files = conn.execute(
                    "SELECT 1 FROM files WHERE run_pk = ? LIMIT 1", (row[0],)
                ).fetchone()
                tests_same = batch is None or (fingerprint == row[TESTS_HASH] and has_files is None)
                if spec_same and tests_same:
                    tx.commit = False
                    return load_runs(conn, spec.job, [row])[0], WriteOutcome.UNCHANGED
            conn.execute(
                "INSERT INTO runs (job_id, run_id, payload, status, started_at, finished_at,"
                " url, variant, metadata, tests_hash, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (job_id, run_id) DO UPDATE SET"
                " payload = excluded.payload, status = excluded.status,"
                " started_at = excluded.started_at, finished_at = excluded.finished_at,"
                " url = excluded.url, variant = excluded.variant, metadata = excluded.metadata,"
                " updated_at = max(excluded.updated_at, runs.updated_at + 1)",
                (job_id, spec.run_id, *columns, EMPTY_FINGERPRINT, now, now),
            )
            pk = int(conn.execute(
                "SELECT pk FROM runs WHERE job_id = ? AND run_id = ?", (job_id, spec.run_id)
            ).fetchone()[0])
            if batch is not None and (row is None or fingerprint != row[TESTS_HASH] or has_files):
                if row is not None:
                    forget_tests(conn, pk)
                insert_results(conn, pk, triples, notes, informing)
                counts = batch.counts()
                conn.execute(
                    "UPDATE runs SET n_total = ?, n_passed = ?, n_failed = ?, n_errors = ?,"
                    " n_skipped = ?, n_flaked = ?, tests_hash = ? WHERE pk = ?",
                    (*count_columns(counts), fingerprint, pk),
                )
            run = load_run(conn, spec.job, pk)
            return run, WriteOutcome.CREATED if row is None else WriteOutcome.UPDATED

    def attach_junit(
        self, job: str, run_id: str, files: Sequence[AttachedFile]
    ) -> tuple[Run, tuple[bool, ...]]:
        batches = [prepare_tests(f.tests) for f in files]
        with self._db.write() as tx:
            pk = run_pk(tx.conn, job, run_id)
            added = self.attach_in(tx, pk, files, batches)
            return load_run(tx.conn, job, pk), added

    def attach_in(self, tx: Tx, pk: int, files: Sequence[AttachedFile],
                  batches: Sequence[Batch]) -> tuple[bool, ...]:
        """``attach_junit``'s work inside the caller's transaction (the artifacts upload
        attaches JUnit and measurement files in one); clears ``tx.commit`` when nothing new."""
        conn = tx.conn
        seen = {sha for (sha,) in conn.execute("SELECT sha256 FROM files WHERE run_pk = ?",
                                               (pk,))}
        added, new_files, merged = new_attachments(files, batches, seen)
        if not new_files:
            tx.commit = False
            return added
        merge_results(conn, pk, merged)
        conn.executemany(
            "INSERT INTO files (run_pk, sha256, name, tests) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (run_pk, sha256) DO NOTHING",
            [(pk, f.sha256, f.name, f.tests) for f in new_files],
        )
        counts = RunCounts.tally(
            conn.execute(
                "SELECT status, count(*) FROM results WHERE run_pk = ? GROUP BY status", (pk,)
            ).fetchall()
        )
        # The results no longer are what was put: a later put of the same tests must
        # write (and drop the files), so the fingerprint is cleared.
        conn.execute(
            "UPDATE runs SET n_total = ?, n_passed = ?, n_failed = ?, n_errors = ?,"
            " n_skipped = ?, n_flaked = ?, tests_hash = NULL,"
            " updated_at = max(?, updated_at + 1) WHERE pk = ?",
            (*count_columns(counts), now_us(), pk),
        )
        return added

    def delete_run(self, job: str, run_id: str, audit: AuditEntry) -> None:
        with self._db.write() as tx:
            pk = run_pk(tx.conn, job, run_id)
            forget_tests(tx.conn, pk)
            (job_id,) = tx.conn.execute("DELETE FROM runs WHERE pk = ? RETURNING job_id",
                                        (pk,)).fetchone()
            insert_audit(tx.conn, int(job_id), replace(audit, job=job))

    def get_run(self, job: str, run_id: str) -> Run | None:
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs"
                " WHERE job_id = (SELECT id FROM jobs WHERE name = ?) AND run_id = ?",
                (job, run_id),
            ).fetchone()
            return None if row is None else load_runs(conn, job, [row])[0]

    def list_runs(
        self,
        job: str,
        *,
        where: RunFilter = RunFilter(),  # noqa: B008  (frozen; mirrors the interface)
        limit: int,
        cursor: str | None = None,
    ) -> Page:
        check_limit(limit)
        clauses = ["job_id = ?"]
        params: list[Any] = []
        if where.payload is not None:
            clauses.append("payload = ?")
            params.append(where.payload)
        if where.status is not None:
            clauses.append("status = ?")
            params.append(RunStatus(where.status).value)
        if where.since is not None:
            clauses.append("coalesce(started_at, created_at) >= ?")
            params.append(to_us(where.since))
        with self._db.read() as conn:
            job_row = conn.execute("SELECT id FROM jobs WHERE name = ?", (job,)).fetchone()
            if cursor is not None:
                job_id, created, pk = decode_cursor(cursor, "runs", (int, int, int))
                if job_row is None or job_id != job_row[0]:
                    raise InvalidCursor("the cursor belongs to another job's listing")
                clauses.append("(created_at, pk) < (?, ?)")
                params += [created, pk]
            if job_row is None:
                return Page((), None)
            rows = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE {' AND '.join(clauses)}"
                " ORDER BY created_at DESC, pk DESC LIMIT ?",
                (job_row[0], *params, limit + 1),
            ).fetchall()
            runs = load_runs(conn, job, rows[:limit])
        if len(rows) <= limit:
            return Page(tuple(runs), None)
        last = rows[limit - 1]
        return Page(tuple(runs), encode_cursor("runs", [job_row[0], last[CREATED_AT], last[PK]]))

    def get_run_tests(self, job: str, run_id: str) -> list[TestResult]:
        with self._db.read() as conn:
            pk = run_pk(conn, job, run_id)
            rows = conn.execute(
                "SELECT t.suite, t.name, r.status, r.duration_ms, m.message,"
                " i.test_id IS NOT NULL"
                " FROM results AS r JOIN tests AS t ON t.id = r.test_id"
                " LEFT JOIN messages AS m ON m.run_pk = r.run_pk AND m.test_id = r.test_id"
                " LEFT JOIN informing AS i ON i.run_pk = r.run_pk AND i.test_id = r.test_id"
                " WHERE r.run_pk = ? ORDER BY t.suite, t.name",
                (pk,),
            ).fetchall()
        statuses = STATUSES
        return [
            TestResult(name, suite, statuses[s], None if d is None else d / 1000, m,
                       informing=bool(i))
            for suite, name, s, d, m, i in rows
        ]

