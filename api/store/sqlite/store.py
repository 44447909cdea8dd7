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
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from api.domain import (
    Job,
    JobSpec,
    Page,
    Payload,
    Run,
    RunSpec,
    Scope,
    TestResult,
    WriteOutcome,
    job_field_changes,
)
from api.stats.types import Prior, TestBaseline, TestTally
from api.store.base import (
    AttachedFile,
    AuditEntry,
    BaselineVersion,
    CrawlRecord,
    CrawlState,
    EvidenceColumns,
    HistorySelection,
    HistoryWindow,
    NotFound,
    PayloadJobRuns,
    RunFilter,
    Store,
    StoreError,
    TokenInfo,
    VerdictInputs,
)
from api.store.codec import check_expected, dump_map, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.sqlite.breakages import SqliteBreakages
from api.store.sqlite.crawl import SqliteCrawl
from api.store.sqlite.db import Database
from api.store.sqlite.disruption import SqliteDisruption
from api.store.sqlite.github import SqliteGitHub
from api.store.sqlite.history import SqliteHistory, insert_audit
from api.store.sqlite.leases import SqliteLeases
from api.store.sqlite.logs import SqliteLogs
from api.store.sqlite.page_reads import SqlitePageReads
from api.store.sqlite.patterns import SqlitePatterns
from api.store.sqlite.rows import JOB_COLUMNS, job_of, job_row, payload_of, payload_row
from api.store.sqlite.runs import SqliteRuns
from api.store.sqlite.scan_pages import SqliteScanPages
from api.store.sqlite.schema import apply_migrations, load_migrations
from api.store.sqlite.tokens import SqliteTokens
from api.store.sqlite.transfer import SqliteTransfer
from api.store.sqlite.work import SqliteWork

DEFAULT_BUSY_TIMEOUT = 30.0


class SqliteStore(Store):
    """A :class:`Store` on one SQLite file; one object per thread (sqlite3 enforces it).

    Jobs and payloads are written here; runs, history, tokens and the crawl ledger are
    delegated to typed parts that share this store's :class:`Database`.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        create: bool = True,
    ) -> None:
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self.db = Database(self.path, busy_timeout=busy_timeout, create=create)
        self._runs = SqliteRuns(self.db)
        self._history = SqliteHistory(self.db)
        self._crawl = SqliteCrawl(self.db)
        self._leases = SqliteLeases(self.db)
        self._tokens = SqliteTokens(self.db)
        self._patterns = SqlitePatterns(self.db)
        self._breakages = SqliteBreakages(self.db)
        self._logs = SqliteLogs(self.db)
        self._scan_pages = SqliteScanPages(self.db)
        self._disruption = SqliteDisruption(self.db, self._runs)
        self._work = SqliteWork(self.db)
        self._page_reads = SqlitePageReads(self.db)
        self._transfer = SqliteTransfer(self.db)

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection, for diagnostics and tests; do not write through it."""
        return self.db.conn

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> int:
        return apply_migrations(self.db.conn, load_migrations())

    def close(self) -> None:
        self.db.conn.close()

    def ping(self) -> None:
        try:
            self.db.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self.path!r} is not usable: {exc}") from exc

    def integrity_check(self) -> list[str]:
        """Problems found by SQLite's integrity and foreign-key checks; empty when sound."""
        problems = [
            str(row[0])
            for row in self.db.conn.execute("PRAGMA integrity_check").fetchall()
            if row[0] != "ok"
        ]
        problems += [
            f"foreign key violation: {table} rowid {rowid} -> {parent}"
            for table, rowid, parent, _ in self.db.conn.execute("PRAGMA foreign_key_check")
        ]
        return problems

    def checkpoint(self) -> None:
        """Copy the WAL into the main file and truncate it (for backups and size checks)."""
        self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    # -- jobs --------------------------------------------------------------------------------

    def put_job(self, spec: JobSpec, *, actor: str | None = None) -> tuple[Job, WriteOutcome]:
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
        with self.db.write() as tx:
            before = job_row(tx.conn, spec.name)
            changes = job_field_changes(None if before is None else job_of(before), spec)
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
            if actor is not None and changes:
                job_id = int(tx.conn.execute("SELECT id FROM jobs WHERE name = ?",
                                             (spec.name,)).fetchone()[0])
                at = datetime.now(UTC)
                for name, old, new in changes:
                    insert_audit(tx.conn, job_id, AuditEntry(
                        job=spec.name, action="settings", actor=actor, reason="", tests=(),
                        version=None, at=at, field=name, old=old, new=new))
            return job_of(after), tx.outcome(before, after)

    def get_job(self, name: str) -> Job | None:
        row = job_row(self.db.conn, name)
        return None if row is None else job_of(row)

    def list_jobs(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        params: tuple[Any, ...]
        if cursor is None:
            sql, params = f"SELECT {JOB_COLUMNS} FROM jobs ORDER BY name LIMIT ?", (limit + 1,)
        else:
            after = decode_cursor(cursor, "jobs", (str,))[0]
            sql = f"SELECT {JOB_COLUMNS} FROM jobs WHERE name > ? ORDER BY name LIMIT ?"
            params = (after, limit + 1)
        rows = self.db.conn.execute(sql, params).fetchall()
        jobs = tuple(job_of(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(jobs, encode_cursor("jobs", [jobs[-1].name]) if more else None)

    # -- payloads ----------------------------------------------------------------------------

    def put_payload(self, payload: Payload) -> tuple[Payload, WriteOutcome]:
        check_expected(payload.expected)
        expected = dump_map(payload.expected)
        deadline = to_us(payload.deadline)
        with self.db.write() as tx:
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
            return payload_of(after), tx.outcome(before, after)

    def get_payload(self, payload_id: str) -> Payload | None:
        row = payload_row(self.db.conn, payload_id)
        return None if row is None else payload_of(row)

    def delete_payload(self, payload_id: str, audit: AuditEntry) -> tuple[str, ...]:
        with self.db.write() as tx:
            row = tx.conn.execute("DELETE FROM payloads WHERE id = ? RETURNING expected",
                                  (payload_id,)).fetchone()
            if row is None:
                raise NotFound(f"no payload {payload_id!r}")
            jobs = tx.conn.execute(
                "SELECT id, name FROM jobs WHERE name IN (SELECT key FROM json_each(?))"
                " OR id IN (SELECT job_id FROM runs WHERE payload = ?) ORDER BY name",
                (row[0], payload_id)).fetchall()
            for job_id, name in jobs:
                insert_audit(tx.conn, int(job_id), replace(audit, job=str(name)))
            return tuple(str(name) for _, name in jobs)

    # -- tokens (see tokens.py) --------------------------------------------------------------

    def add_token(self, token_hash: str, scope: Scope, label: str,
                  expires_at: datetime | None = None) -> TokenInfo:
        return self._tokens.add_token(token_hash, scope, label, expires_at)

    def find_token(self, token_hash: str) -> TokenInfo | None:
        return self._tokens.find_token(token_hash)

    def list_tokens(self, *, limit: int, cursor: str | None = None) -> Page:
        return self._tokens.list_tokens(limit=limit, cursor=cursor)

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> TokenInfo:
        return self._tokens.revoke_token(token_id, actor=actor, at=at)

    def touch_token(self, token_id: str, at: datetime) -> None:
        self._tokens.touch_token(token_id, at)

    # -- runs (see runs.py) ------------------------------------------------------------------

    def put_run(
        self, spec: RunSpec, tests: Sequence[TestResult] | None = None
    ) -> tuple[Run, WriteOutcome]:
        return self._runs.put_run(spec, tests)

    def attach_junit(
        self, job: str, run_id: str, files: Sequence[AttachedFile]
    ) -> tuple[Run, tuple[bool, ...]]:
        return self._runs.attach_junit(job, run_id, files)

    def get_run(self, job: str, run_id: str) -> Run | None:
        return self._runs.get_run(job, run_id)

    def list_runs(
        self,
        job: str,
        *,
        where: RunFilter = RunFilter(),  # noqa: B008  (frozen; mirrors the interface)
        limit: int,
        cursor: str | None = None,
    ) -> Page:
        return self._runs.list_runs(job, where=where, limit=limit, cursor=cursor)

    def get_run_tests(self, job: str, run_id: str) -> list[TestResult]:
        return self._runs.get_run_tests(job, run_id)

    def delete_run(self, job: str, run_id: str, audit: AuditEntry) -> None:
        self._runs.delete_run(job, run_id, audit)

    # -- history, verdict inputs and baselines (see history.py) ------------------------------

    def history_tallies(self, job: str, window: HistoryWindow) -> tuple[int, list[TestTally]]:
        return self._history.history_tallies(job, window)

    def payload_runs(self, payload: str) -> list[PayloadJobRuns]:
        return self._history.payload_runs(payload)

    def verdict_inputs(self, payload: str) -> VerdictInputs:
        return self._history.verdict_inputs(payload)

    def payload_evidence(self, job: str, payload: str,
                         baseline_version: int | None) -> EvidenceColumns:
        return self._history.payload_evidence(job, payload, baseline_version)

    def put_baseline(self, job: str, *, window_days: int, max_runs: int,
                     exclude_payload: str | None, latch: bool, runs: int, prior: Prior,
                     tests: Sequence[TestBaseline], note: str | None = None,
                     audit: AuditEntry | None = None,
                     run_ids: Sequence[str] | None = None) -> BaselineVersion:
        return self._history.put_baseline(
            job, window_days=window_days, max_runs=max_runs, exclude_payload=exclude_payload,
            latch=latch, runs=runs, prior=prior, tests=tests, note=note, audit=audit,
            run_ids=run_ids)

    def get_baseline(self, job: str, version: int | None = None) -> BaselineVersion | None:
        return self._history.get_baseline(job, version)

    def baseline_tests(self, job: str, version: int) -> list[TestBaseline]:
        return self._history.baseline_tests(job, version)

    def list_baselines(self, job: str, *, limit: int, cursor: str | None = None) -> Page:
        return self._history.list_baselines(job, limit=limit, cursor=cursor)

    def add_audit(self, entry: AuditEntry) -> None:
        self._history.add_audit(entry)

    def list_audit(self, job: str, *, limit: int, cursor: str | None = None) -> Page:
        return self._history.list_audit(job, limit=limit, cursor=cursor)

    # -- crawl ledger (see crawl.py) ---------------------------------------------------------

    def put_crawl_records(self, records: Sequence[CrawlRecord]) -> None:
        self._crawl.put_crawl_records(records)

    def get_crawl_records(self, source: str, builds: Sequence[str]) -> dict[str, CrawlRecord]:
        return self._crawl.get_crawl_records(source, builds)

    def list_crawl_records(self, source: str, *, state: CrawlState | None = None, limit: int,
                           cursor: str | None = None) -> Page:
        return self._crawl.list_crawl_records(source, state=state, limit=limit, cursor=cursor)

    # -- baseline membership and leases (see history.py, leases.py) ----------------------------

    def history_window(self, job: str, window: HistoryWindow) -> HistorySelection:
        return self._history.history_window(job, window)

    def baseline_run_ids(self, job: str, version: int) -> frozenset[str] | None:
        return self._history.baseline_run_ids(job, version)

    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        return self._leases.acquire_lease(name, holder, ttl_s)

    def release_lease(self, name: str, holder: str) -> None:
        self._leases.release_lease(name, holder)

    # -- patterns (see patterns.py) --------------------------------------------------------------

    @property
    def patterns(self) -> SqlitePatterns:
        return self._patterns

    # -- known breakages -----------------------------------------------------------------------

    @property
    def breakages(self) -> SqliteBreakages:
        return self._breakages

    # -- build logs (see logs.py) ------------------------------------------------------------

    @property
    def logs(self) -> SqliteLogs:
        return self._logs

    # -- scan pages (see scan_pages.py) ------------------------------------------------------

    @property
    def scan_pages(self) -> SqliteScanPages:
        return self._scan_pages

    # -- disruption and alert measurements (see disruption.py) -------------------------------

    @property
    def disruption(self) -> SqliteDisruption:
        return self._disruption

    # -- durable background work (see work.py) -------------------------------------------------

    @property
    def work(self) -> SqliteWork:
        return self._work

    # -- GitHub publications (issue 14, see github.py) ---------------------------------------

    @property
    def github(self) -> SqliteGitHub:
        return SqliteGitHub(self.db)  # stateless beyond the database: made on demand

    # -- the reads behind the pages (see page_reads.py) --------------------------------------

    @property
    def page_reads(self) -> SqlitePageReads:
        return self._page_reads
    @property
    def transfer(self) -> SqliteTransfer:
        return self._transfer
