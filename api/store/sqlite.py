"""The embedded SQLite backend (stdlib ``sqlite3``): one file, WAL, one connection per store.

Every mutating method is one ``BEGIN IMMEDIATE`` transaction. IMMEDIATE takes the write lock
up front, so concurrent writers queue on the busy timeout instead of failing when a read
transaction tries to upgrade; rows are still written with ``INSERT ... ON CONFLICT`` so that
no write depends on an earlier read being current. Reads that span several statements run
in one deferred transaction so they see one snapshot.

Results are stored narrow (see ``migrations/0001_initial.sql``): interned test ids, status as
a small integer, duration in integer milliseconds, messages apart.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from api.domain import (
    Job,
    JobSpec,
    JunitFile,
    Page,
    Payload,
    Run,
    RunSpec,
    RunStatus,
    Scope,
    TestResult,
    WriteOutcome,
)
from api.store.base import (
    AttachedFile,
    InvalidCursor,
    RunFilter,
    Store,
    StoreError,
    StoreUnavailable,
)
from api.store.sqlite_batch import (
    EMPTY_FINGERPRINT,
    Entry,
    count_columns,
    counts_of,
    fingerprint_of,
    prepare_tests,
)
from api.store.sqlite_codec import (
    STATUSES,
    decode_cursor,
    dump_map,
    encode_cursor,
    merge_entry,
    now_us,
    to_us,
)
from api.store.sqlite_crawl import SqliteCrawl
from api.store.sqlite_history import SqliteHistory
from api.store.sqlite_results import forget_tests, insert_results, merge_results, test_ids
from api.store.sqlite_rows import (
    CREATED_AT,
    JOB_COLUMNS,
    PK,
    RUN_COLUMNS,
    SPEC,
    TESTS_HASH,
    check_limit,
    ensure_job,
    job_of,
    job_row,
    load_run,
    load_runs,
    payload_of,
    payload_row,
    run_pk,
    spec_columns,
)
from api.store.sqlite_schema import apply_migrations, connect, load_migrations

DEFAULT_BUSY_TIMEOUT = 30.0


@contextmanager
def _unavailable_on_lock(path: str) -> Iterator[None]:
    """A lock still held after the busy timeout is the backend being unavailable, not a bug."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreUnavailable(f"sqlite store {path!r} stayed locked: {exc}") from exc
        raise


def _outcome(tx: _Tx, before: object | None, after: object) -> WriteOutcome:
    """Compare a row before and after an upsert; an unchanged write is rolled back."""
    if before is None:
        return WriteOutcome.CREATED
    if before == after:
        tx.commit = False
        return WriteOutcome.UNCHANGED
    return WriteOutcome.UPDATED


class _Tx:
    __slots__ = ("commit", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.commit = True


class SqliteStore(SqliteHistory, SqliteCrawl, Store):
    """A :class:`Store` on one SQLite file; one object per thread (sqlite3 enforces it)."""

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self._conn = connect(self.path, busy_timeout=busy_timeout)

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection, for diagnostics and tests; do not write through it."""
        return self._conn

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[_Tx]:
        conn = self._conn
        with _unavailable_on_lock(self.path):
            conn.execute("BEGIN IMMEDIATE")
        tx = _Tx(conn)
        try:
            yield tx
            # An unchanged write rolls back so that "changes nothing" holds literally.
            conn.execute("COMMIT" if tx.commit else "ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        with _unavailable_on_lock(self.path):
            conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    # -- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> int:
        return apply_migrations(self._conn, load_migrations())

    def close(self) -> None:
        self._conn.close()

    def ping(self) -> None:
        try:
            self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self.path!r} is not usable: {exc}") from exc

    def integrity_check(self) -> list[str]:
        """Problems found by SQLite's integrity and foreign-key checks; empty when sound."""
        problems = [
            row[0]
            for row in self._conn.execute("PRAGMA integrity_check").fetchall()
            if row[0] != "ok"
        ]
        problems += [
            f"foreign key violation: {table} rowid {rowid} -> {parent}"
            for table, rowid, parent, _ in self._conn.execute("PRAGMA foreign_key_check")
        ]
        return problems

    def checkpoint(self) -> None:
        """Copy the WAL into the main file and truncate it (for backups and size checks)."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    # -- jobs --------------------------------------------------------------------------------

    def put_job(self, spec: JobSpec) -> tuple[Job, WriteOutcome]:
        variant = None if spec.variant is None else dump_map(spec.variant)
        settings = None if spec.settings is None else dump_map(spec.settings)
        params = {
            "name": spec.name,
            "variant": variant,
            "policy": spec.policy,
            "expected_runs": spec.expected_runs,
            "settings": settings,
            "now": now_us(),
        }
        with self._write() as tx:
            before = job_row(tx.conn, spec.name)
            # The WHERE makes an identical put a no-op, so updated_at only moves on change.
            tx.conn.execute(
                "INSERT INTO jobs (name, variant, policy, expected_runs, settings,"
                " created_at, updated_at)"
                " VALUES (:name, coalesce(:variant, '{}'), :policy, :expected_runs,"
                " coalesce(:settings, '{}'), :now, :now)"
                " ON CONFLICT (name) DO UPDATE SET"
                " variant = coalesce(:variant, variant), policy = coalesce(:policy, policy),"
                " expected_runs = coalesce(:expected_runs, expected_runs),"
                " settings = coalesce(:settings, settings),"
                " updated_at = max(:now, updated_at + 1)"
                " WHERE coalesce(:variant, variant) IS NOT variant"
                " OR coalesce(:policy, policy) IS NOT policy"
                " OR coalesce(:expected_runs, expected_runs) IS NOT expected_runs"
                " OR coalesce(:settings, settings) IS NOT settings",
                params,
            )
            after = job_row(tx.conn, spec.name)
            assert after is not None
            return job_of(after), _outcome(tx, before, after)

    def get_job(self, name: str) -> Job | None:
        row = job_row(self._conn, name)
        return None if row is None else job_of(row)

    def list_jobs(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        if cursor is None:
            sql, params = f"SELECT {JOB_COLUMNS} FROM jobs ORDER BY name LIMIT ?", (limit + 1,)
        else:
            after = decode_cursor(cursor, "jobs", (str,))[0]
            sql = f"SELECT {JOB_COLUMNS} FROM jobs WHERE name > ? ORDER BY name LIMIT ?"
            params = (after, limit + 1)
        rows = self._conn.execute(sql, params).fetchall()
        jobs = tuple(job_of(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(jobs, encode_cursor("jobs", [jobs[-1].name]) if more else None)

    # -- runs --------------------------------------------------------------------------------

    def put_run(
        self, spec: RunSpec, tests: Sequence[TestResult] | None = None
    ) -> tuple[Run, WriteOutcome]:
        columns = spec_columns(spec)
        batch = None if tests is None else prepare_tests(tests)
        with self._write() as tx:
            conn = tx.conn
            now = now_us()
            job_id = ensure_job(conn, spec.job, now)
            row = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE job_id = ? AND run_id = ?",
                (job_id, spec.run_id),
            ).fetchone()
            triples: list[tuple[int, int, int | None]] = []
            notes: list[tuple[int, str]] = []
            fingerprint = EMPTY_FINGERPRINT
            if batch is not None and batch.keys:
                ids = test_ids(conn, batch.keys)
                triples = sorted(zip(ids, batch.statuses, batch.durations, strict=True))
                notes = sorted((ids[i], message) for i, message in batch.messages)
                fingerprint = fingerprint_of(triples, notes)
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
            (pk,) = conn.execute(
                "SELECT pk FROM runs WHERE job_id = ? AND run_id = ?", (job_id, spec.run_id)
            ).fetchone()
            if batch is not None and (row is None or fingerprint != row[TESTS_HASH] or has_files):
                if row is not None:
                    forget_tests(conn, pk)
                insert_results(conn, pk, triples, notes)
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
        with self._write() as tx:
            conn = tx.conn
            pk = run_pk(conn, job, run_id)
            seen = {
                sha for (sha,) in conn.execute("SELECT sha256 FROM files WHERE run_pk = ?", (pk,))
            }
            added: list[bool] = []
            merged: dict[tuple[str, str], Entry] = {}
            new_files: list[JunitFile] = []
            for attached, batch in zip(files, batches, strict=True):
                sha = attached.file.sha256
                added.append(sha not in seen)
                if sha in seen:
                    continue
                seen.add(sha)
                new_files.append(attached.file)
                if not merged:
                    merged = batch.entries()  # the usual single file: nothing to merge yet
                    continue
                for key, entry in batch.entries().items():
                    merged[key] = merge_entry(merged[key], entry) if key in merged else entry
            if not new_files:
                tx.commit = False
                return load_run(conn, job, pk), tuple(added)
            merge_results(conn, pk, merged)
            conn.executemany(
                "INSERT INTO files (run_pk, sha256, name, tests) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (run_pk, sha256) DO NOTHING",
                [(pk, f.sha256, f.name, f.tests) for f in new_files],
            )
            counts = counts_of(
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
            return load_run(conn, job, pk), tuple(added)

    def get_run(self, job: str, run_id: str) -> Run | None:
        with self._read() as conn:
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
        with self._read() as conn:
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
        with self._read() as conn:
            pk = run_pk(conn, job, run_id)
            rows = conn.execute(
                "SELECT t.suite, t.name, r.status, r.duration_ms, m.message"
                " FROM results AS r JOIN tests AS t ON t.id = r.test_id"
                " LEFT JOIN messages AS m ON m.run_pk = r.run_pk AND m.test_id = r.test_id"
                " WHERE r.run_pk = ? ORDER BY t.suite, t.name",
                (pk,),
            ).fetchall()
        statuses = STATUSES
        return [
            TestResult(name, suite, statuses[s], None if d is None else d / 1000, m)
            for suite, name, s, d, m in rows
        ]

    # -- payloads ----------------------------------------------------------------------------

    def put_payload(self, payload: Payload) -> tuple[Payload, WriteOutcome]:
        for job, runs in dict(payload.expected).items():
            if not isinstance(job, str) or isinstance(runs, bool) or not isinstance(runs, int):
                raise TypeError(f"expected runs must map job names to integers: {job!r}: {runs!r}")
        expected = dump_map(payload.expected)
        deadline = to_us(payload.deadline)
        with self._write() as tx:
            before = payload_row(tx.conn, payload.id)
            tx.conn.execute(
                "INSERT INTO payloads (id, expected, deadline, created_at, updated_at)"
                " VALUES (:id, :expected, :deadline, :now, :now)"
                " ON CONFLICT (id) DO UPDATE SET expected = :expected, deadline = :deadline,"
                " updated_at = max(:now, updated_at + 1)"
                " WHERE expected IS NOT :expected OR deadline IS NOT :deadline",
                {"id": payload.id, "expected": expected, "deadline": deadline, "now": now_us()},
            )
            after = payload_row(tx.conn, payload.id)
            assert after is not None
            return payload_of(after), _outcome(tx, before, after)

    def get_payload(self, payload_id: str) -> Payload | None:
        row = payload_row(self._conn, payload_id)
        return None if row is None else payload_of(row)

    # -- tokens ------------------------------------------------------------------------------

    def add_token(self, token_hash: str, scope: Scope, label: str) -> None:
        with self._write() as tx:
            tx.conn.execute(
                "INSERT INTO tokens (hash, scope, label, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (hash) DO UPDATE SET scope = excluded.scope, label = excluded.label",
                (token_hash, Scope(scope).value, label, now_us()),
            )

    def find_token(self, token_hash: str) -> Scope | None:
        row = self._conn.execute(
            "SELECT scope FROM tokens WHERE hash = ?", (token_hash,)
        ).fetchone()
        return None if row is None else Scope(row[0])
