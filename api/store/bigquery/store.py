"""The BigQuery backend (``bigquery://PROJECT/DATASET``) on the official client.

Writes and their guarantees (BigQuery has no row locks, and the emulator used in tests runs no
parameterised multi-statement scripts, so every write is built from single statements):

* **Compare-and-set.** Each mutable row (job, run, payload) carries a random ``stamp``. A
  write reads the row, computes the new one in Python, then commits with one ``MERGE`` that
  only matches if the stamp is still the one read (or, for a create, if the row is still
  absent). Zero rows changed means another writer won: re-read and retry. One MERGE is atomic
  in BigQuery, so a row is always wholly old or wholly new.
* **Runs never show half their tests.** A run's tests are written as a new *generation*
  through one committed PENDING stream of the Storage Write API (no load job: see
  :mod:`api.store.bigquery.streams`) before the run's row is flipped to name it; readers only
  read the generation the run names. The previous generation is kept until the next write, so
  a reader that read the run row just before a flip still finds its tests; older ones are
  deleted. A crash before the commit leaves nothing, between the commit and the flip only
  unreferenced rows, never a visible change.
* **Validation first.** Tests, times and maps are validated before the first request, so a bad
  input changes nothing. The one non-atomic pair is "create the job, then the run" of a
  ``put_run`` on an unknown job: a crash between them leaves an empty job (as a ``PUT /jobs``
  would), never a run without its job.
* **Idempotent.** An identical re-put is detected from the stored fingerprint of the run's
  tests and its spec and changes nothing; a client retry after a lost answer is thus a no-op.
* Writes of one process are serialised per dataset (BigQuery aborts concurrent DML on one
  table anyway); across processes the compare-and-set keeps every write exactly once.
"""

from __future__ import annotations

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
from api.store.bigquery.breakages import BigQueryBreakages
from api.store.bigquery.client import Connection, Typed, retrying, strings
from api.store.bigquery.crawl import BigQueryCrawl
from api.store.bigquery.disruption import BigQueryDisruption
from api.store.bigquery.github import BigQueryGitHub
from api.store.bigquery.history import BigQueryHistory
from api.store.bigquery.leases import BigQueryLeases
from api.store.bigquery.logs import BigQueryLogs
from api.store.bigquery.page_reads import BigQueryPageReads
from api.store.bigquery.patterns import BigQueryPatterns
from api.store.bigquery.rows import (
    JOB_COLUMNS,
    PAYLOAD_COLUMNS,
    job_of,
    new_id,
    now_us,
    payload_of,
    ts,
    us,
)
from api.store.bigquery.runs import BigQueryRuns
from api.store.bigquery.schema import migrate
from api.store.bigquery.tokens import BigQueryTokens
from api.store.bigquery.transfer import BigQueryTransfer
from api.store.bigquery.work import BigQueryWork
from api.store.codec import check_expected, dump_map, from_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.scan_pages import ComposedScanPages


class BigQueryStore(Store):
    """A :class:`Store` on one BigQuery dataset; cheap to open (no request until used).

    Jobs and payloads are written here; runs, history, tokens and the crawl ledger are
    delegated to typed parts that share this store's :class:`Connection`.
    """

    def __init__(self, project: str, dataset: str, *, client: Any = None,
                 deadline: float | None = None) -> None:
        kwargs = {} if deadline is None else {"deadline": deadline}
        self._conn = Connection(project, dataset, client=client, **kwargs)
        self.project, self.dataset = project, dataset
        self._runs = BigQueryRuns(self._conn)
        self._history = BigQueryHistory(self._conn)
        self._crawl = BigQueryCrawl(self._conn)
        self._leases = BigQueryLeases(self._conn)
        self._tokens = BigQueryTokens(self._conn)
        self._patterns = BigQueryPatterns(self._conn)
        self._breakages = BigQueryBreakages(self._conn)
        self._logs = BigQueryLogs(self._conn)
        self._scan_pages = ComposedScanPages(self._logs, self._patterns)
        self._disruption = BigQueryDisruption(self._conn, self._runs)
        self._work = BigQueryWork(self._conn)
        self._page_reads = BigQueryPageReads(self._conn)
        self._transfer = BigQueryTransfer(self._conn)  # issue 16: db copy

    @property
    def connection(self) -> Connection:
        return self._conn

    # -- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> int:
        with self._conn.lock:
            return migrate(self._conn)

    def close(self) -> None:
        if self._conn._client is not None:
            self._conn._client.close()

    def ping(self) -> None:
        # Table metadata rather than a query: free, where the smallest query bills 10 MB.
        try:
            self._conn.client.get_table(self._conn.table_id("schema_version"),
                                        timeout=min(self._conn.deadline, 10.0))
        except Exception as exc:
            raise StoreError(f"bigquery store {self.project}/{self.dataset} is not usable:"
                             f" {exc}") from exc

    # -- jobs --------------------------------------------------------------------------------

    def _job_row(self, name: str) -> tuple[Any, ...] | None:
        rows = self._conn.rows(f"SELECT {JOB_COLUMNS} FROM {self._conn.table('jobs')}"
                               " WHERE name = @name", name=name)
        return rows[0] if rows else None

    def _cas_job(self, name: str, old_stamp: int | None, values: dict[str, Any]) -> bool:
        c = self._conn
        sets = ", ".join(f"{k} = @{k}" for k in values if k not in ("name", "created_at"))
        cols = ", ".join(values)
        return c.execute(
            f"MERGE {c.table('jobs')} T USING (SELECT @name AS name) S ON T.name = S.name"
            f" WHEN MATCHED AND T.stamp = @old THEN UPDATE SET {sets}"
            f" WHEN NOT MATCHED AND @old IS NULL THEN INSERT ({cols})"
            f" VALUES ({', '.join('@' + k for k in values)})",
            old=Typed("INT64", old_stamp), **values) == 1

    def _job_values(self, name: str, variant: str, policy: str | None, expected: int | None,
                    settings: str, created: int, updated: int) -> dict[str, Any]:
        return {"name": name, "variant": variant, "policy": Typed("STRING", policy),
                "expected_runs": Typed("INT64", expected), "settings": settings,
                "stamp": new_id(), "created_at": ts(created), "updated_at": ts(updated)}

    def put_job(self, spec: JobSpec, *, actor: str | None = None) -> tuple[Job, WriteOutcome]:
        variant = None if spec.variant is None else dump_map(spec.variant)
        settings = None if spec.settings is None else dump_map(spec.settings)
        if spec.expected_runs is not None and (isinstance(spec.expected_runs, bool)
                                               or not isinstance(spec.expected_runs, int)):
            raise TypeError("expected_runs must be an integer")

        def attempt() -> tuple[Job, WriteOutcome] | None:
            row = self._job_row(spec.name)
            now = now_us()
            if row is None:
                values = self._job_values(spec.name, variant or "{}", spec.policy,
                                          spec.expected_runs, settings or "{}", now, now)
                outcome = WriteOutcome.CREATED
                old = None
            else:
                new = (variant or row[1], spec.policy if spec.policy is not None else row[2],
                       spec.expected_runs if spec.expected_runs is not None else row[3],
                       settings or row[4])
                if new == tuple(row[1:5]):
                    return job_of(row), WriteOutcome.UNCHANGED
                created, updated = us(row[6]), us(row[7])
                assert created is not None and updated is not None  # NOT NULL columns
                values = self._job_values(spec.name, *new, created, max(now, updated + 1))
                outcome, old = WriteOutcome.UPDATED, row[5]
            changes = job_field_changes(None if row is None else job_of(row), spec)
            at = datetime.now(UTC)
            # Every flip of the stamp confirms the entries of the stamp in force, audited or not.
            self._history.stage_settings_audit(
                spec.name,
                [AuditEntry(job=spec.name, action="settings", actor=actor, reason="", tests=(),
                            version=None, at=at, field=name, old=before, new=after)
                 for name, before, after in changes] if actor is not None else [],
                old, values["stamp"])
            if not self._cas_job(spec.name, old, values):
                return None
            return job_of(tuple(v.value if isinstance(v, Typed) else v
                                 for v in values.values())), outcome

        return retrying(self._conn, attempt)

    def get_job(self, name: str) -> Job | None:
        row = self._job_row(name)
        return None if row is None else job_of(row)

    def list_jobs(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        after = decode_cursor(cursor, "jobs", (str,))[0] if cursor is not None else None
        rows = self._conn.rows(
            f"SELECT {JOB_COLUMNS} FROM {self._conn.table('jobs')}"
            " WHERE @after IS NULL OR name > @after ORDER BY name LIMIT @n",
            after=Typed("STRING", after), n=limit + 1)
        jobs = tuple(job_of(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(jobs, encode_cursor("jobs", [jobs[-1].name]) if more else None)

    # -- payloads ----------------------------------------------------------------------------

    def put_payload(self, payload: Payload) -> tuple[Payload, WriteOutcome]:
        check_expected(payload.expected)
        expected = dump_map(payload.expected)
        deadline = to_us(payload.deadline)
        c = self._conn

        def attempt() -> tuple[Payload, WriteOutcome] | None:
            rows = c.rows(f"SELECT {PAYLOAD_COLUMNS} FROM {c.table('payloads')} WHERE id = @id",
                          id=payload.id)
            now = now_us()
            if rows and (rows[0][0], us(rows[0][1])) == (expected, deadline):
                return payload_of(payload.id, rows[0]), WriteOutcome.UNCHANGED
            created = us(rows[0][3]) if rows else now
            stored = us(rows[0][4]) if rows else None
            updated = now if stored is None else max(now, stored + 1)
            stamp = new_id()
            won = c.execute(
                f"MERGE {c.table('payloads')} T USING (SELECT @id AS id) S ON T.id = S.id"
                " WHEN MATCHED AND T.stamp = @old THEN UPDATE SET expected = @expected,"
                " deadline = @deadline, stamp = @stamp, updated_at = @updated"
                " WHEN NOT MATCHED AND @old IS NULL THEN INSERT (id, expected, deadline, stamp,"
                " created_at, updated_at) VALUES (@id, @expected, @deadline, @stamp, @created,"
                " @updated)", id=payload.id, old=Typed("INT64", rows[0][2] if rows else None),
                expected=expected, deadline=ts(deadline), stamp=stamp, created=ts(created),
                updated=ts(updated))
            if won != 1:
                return None
            put = payload_of(payload.id, (expected, from_us(deadline), stamp,
                                                from_us(created), from_us(updated)))
            return put, WriteOutcome.UPDATED if rows else WriteOutcome.CREATED

        return retrying(self._conn, attempt)

    def get_payload(self, payload_id: str) -> Payload | None:
        c = self._conn
        rows = c.rows(f"SELECT {PAYLOAD_COLUMNS} FROM {c.table('payloads')} WHERE id = @id",
                      id=payload_id)
        return payload_of(payload_id, rows[0]) if rows else None

    def delete_payload(self, payload_id: str, audit: AuditEntry) -> tuple[str, ...]:
        c = self._conn
        with c.lock:
            found = self.get_payload(payload_id)
            if found is None:
                raise NotFound(f"no payload {payload_id!r}")
            jobs = tuple(sorted(str(row[0]) for row in c.rows(
                f"SELECT name FROM {c.table('jobs')} WHERE name IN UNNEST(@expected) OR name IN"
                f" (SELECT job FROM {c.table('runs')} WHERE payload = @id)",
                expected=strings(list(found.expected)), id=payload_id)))
            # The audit first: a crash in between leaves an audited registration still in
            # place (deleting again finishes the job), never an unaudited deletion.
            for job in jobs:
                self._history.insert_audit(replace(audit, job=job), None)
            if c.execute(f"DELETE FROM {c.table('payloads')} WHERE id = @id",
                         id=payload_id) == 0:
                raise NotFound(f"no payload {payload_id!r}")
            return jobs

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
        self._runs.delete_run(job, run_id, replace(audit, job=job),
                              self._history.insert_audit)

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
    def patterns(self) -> BigQueryPatterns:
        return self._patterns

    # -- known breakages -----------------------------------------------------------------------

    @property
    def breakages(self) -> BigQueryBreakages:
        return self._breakages

    # -- build logs (see logs.py) ------------------------------------------------------------

    @property
    def logs(self) -> BigQueryLogs:
        return self._logs

    # -- scan pages: the log walk, applied versions and texts composed ----------------------

    @property
    def scan_pages(self) -> ComposedScanPages:
        return self._scan_pages

    # -- disruption and alert measurements (see disruption.py) -------------------------------

    @property
    def disruption(self) -> BigQueryDisruption:
        return self._disruption

    # -- durable background work (see work.py) -------------------------------------------------

    @property
    def work(self) -> BigQueryWork:
        return self._work

    # -- GitHub publications (issue 14, see github.py) ---------------------------------------

    @property
    def github(self) -> BigQueryGitHub:
        return BigQueryGitHub(self._conn)  # stateless beyond the connection: made on demand

    # -- the reads behind the pages (see page_reads.py) --------------------------------------

    @property
    def page_reads(self) -> BigQueryPageReads:
        return self._page_reads

    # -- whole-history copies (issue 16, see transfer.py) ------------------------------------

    @property
    def transfer(self) -> BigQueryTransfer:
        return self._transfer
