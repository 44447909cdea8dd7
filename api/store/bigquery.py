"""The BigQuery backend (``bigquery://PROJECT/DATASET``) on the official client.

Writes and their guarantees (BigQuery has no row locks, and the emulator used in tests runs no
parameterised multi-statement scripts, so every write is built from single statements):

* **Compare-and-set.** Each mutable row (job, run, payload) carries a random ``stamp``. A
  write reads the row, computes the new one in Python, then commits with one ``MERGE`` that
  only matches if the stamp is still the one read (or, for a create, if the row is still
  absent). Zero rows changed means another writer won: re-read and retry. One MERGE is atomic
  in BigQuery, so a row is always wholly old or wholly new.
* **Runs never show half their tests.** A run's tests are loaded (load job, not streaming) as
  a new *generation* before the run's row is flipped to name it; readers only read the
  generation the run names. The previous generation is kept until the next write, so a reader
  that read the run row just before a flip still finds its tests; older ones are deleted.
  A crash between the load and the flip leaves only unreferenced rows, never a visible change.
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

import json
import random
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from api.domain import (
    Job,
    JobSpec,
    Page,
    Payload,
    Run,
    RunCounts,
    RunSpec,
    RunStatus,
    Scope,
    TestResult,
    WriteOutcome,
)
from api.store.base import AttachedFile, InvalidCursor, NotFound, RunFilter, Store, StoreError
from api.store.bigquery_client import Connection, Typed
from api.store.bigquery_history import BigQueryHistory
from api.store.bigquery_rows import (
    EMPTY_FINGERPRINT,
    JOB_COLUMNS,
    RUN_COLUMNS,
    _job_of,
    _RunRow,
    counts_of,
    entries_of,
    fingerprint,
    new_id,
    now_us,
    spec_columns,
    ts,
    us,
)
from api.store.bigquery_schema import migrate
from api.store.sqlite_batch import Entry, prepare_tests
from api.store.sqlite_codec import (
    STATUSES,
    decode_cursor,
    dump_map,
    encode_cursor,
    from_us,
    merge_entry,
    to_us,
)
from api.store.sqlite_rows import check_limit

MAX_ATTEMPTS = 8


class BigQueryStore(BigQueryHistory, Store):
    """A :class:`Store` on one BigQuery dataset; cheap to open (no request until used)."""

    def __init__(self, project: str, dataset: str, *, client: Any = None,
                 deadline: float | None = None) -> None:
        kwargs = {} if deadline is None else {"deadline": deadline}
        self._conn = Connection(project, dataset, client=client, **kwargs)
        self.project, self.dataset = project, dataset

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

    def _retrying(self, attempt: Any) -> Any:
        """Run ``attempt()`` under the dataset lock until its compare-and-set wins."""
        from api.store.bigquery_client import Conflict

        for tries in range(MAX_ATTEMPTS):
            with self._conn.lock:
                try:
                    result = attempt()
                except Conflict:
                    result = None
            if result is not None:
                return result
            time.sleep(min(2.0, 0.05 * 2**tries) * random.random())
        raise StoreError("gave up after repeated concurrent updates; retry later")

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

    def _ensure_job(self, name: str) -> None:
        now = now_us()
        c = self._conn
        c.execute(f"MERGE {c.table('jobs')} T USING (SELECT @name AS name) S ON T.name = S.name"
                  " WHEN NOT MATCHED THEN INSERT (name, variant, policy, expected_runs,"
                  " settings, stamp, created_at, updated_at) VALUES (@name, '{}', NULL, NULL,"
                  " '{}', @stamp, @now, @now)", name=name, stamp=new_id(), now=ts(now))

    def put_job(self, spec: JobSpec) -> tuple[Job, WriteOutcome]:
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
                    return _job_of(row), WriteOutcome.UNCHANGED
                values = self._job_values(spec.name, *new, to_us(row[6]),  # type: ignore[arg-type]
                                          max(now, to_us(row[7]) + 1))  # type: ignore[operator]
                outcome, old = WriteOutcome.UPDATED, row[5]
            if not self._cas_job(spec.name, old, values):
                return None
            return _job_of(tuple(v.value if isinstance(v, Typed) else v
                                 for v in values.values())), outcome

        return self._retrying(attempt)  # type: ignore[no-any-return]

    def get_job(self, name: str) -> Job | None:
        row = self._job_row(name)
        return None if row is None else _job_of(row)

    def list_jobs(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        after = decode_cursor(cursor, "jobs", (str,))[0] if cursor is not None else None
        rows = self._conn.rows(
            f"SELECT {JOB_COLUMNS} FROM {self._conn.table('jobs')}"
            " WHERE @after IS NULL OR name > @after ORDER BY name LIMIT @n",
            after=Typed("STRING", after), n=limit + 1)
        jobs = tuple(_job_of(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(jobs, encode_cursor("jobs", [jobs[-1].name]) if more else None)

    # -- runs --------------------------------------------------------------------------------

    def _run_row(self, job: str, run_id: str) -> _RunRow | None:
        rows = self._conn.rows(f"SELECT {RUN_COLUMNS} FROM {self._conn.table('runs')}"
                               " WHERE job = @job AND run_id = @run_id", job=job, run_id=run_id)
        return _RunRow(rows[0]) if rows else None

    def _entries(self, row: _RunRow) -> dict[tuple[str, str], Entry]:
        c = self._conn
        rows = c.rows(f"SELECT suite, name, status, duration_ms, message FROM {c.table('results')}"
                      " WHERE run_day = @day AND job = @job AND run_id = @run_id AND gen = @gen",
                      day=row.run_day, job=row.job, run_id=row.run_id, gen=row.gen)
        return {(s, n): (int(st), d, m) for s, n, st, d, m in rows}

    def _load_generation(self, job: str, run_id: str, gen: int, day: date,
                         entries: dict[tuple[str, str], Entry]) -> None:
        self._conn.load("results", (
            {"job": job, "run_id": run_id, "gen": gen, "run_day": day.isoformat(),
             "suite": suite, "name": name, "status": status, "duration_ms": duration,
             "message": message}
            for (suite, name), (status, duration, message) in entries.items()))

    def _drop_generation(self, job: str, run_id: str, day: date, gen: int | None) -> None:
        if gen is None:
            return
        c = self._conn
        c.execute(f"DELETE FROM {c.table('results')} WHERE run_day = @day AND job = @job"
                  " AND run_id = @run_id AND gen = @gen", day=day, job=job, run_id=run_id,
                  gen=gen)

    def _commit_run(self, old: _RunRow | None, values: dict[str, Any]) -> bool:
        """The run's compare-and-set MERGE; True when it won."""
        c = self._conn
        names = list(values)
        sets = ", ".join(f"{k} = @{k}" for k in names
                         if k not in ("job", "run_id", "created_at", "run_day"))
        return c.execute(
            f"MERGE {c.table('runs')} T USING (SELECT @job AS job, @run_id AS run_id) S"
            " ON T.job = S.job AND T.run_id = S.run_id"
            f" WHEN MATCHED AND T.stamp = @old THEN UPDATE SET {sets}"
            f" WHEN NOT MATCHED AND @old IS NULL THEN INSERT ({', '.join(names)})"
            f" VALUES ({', '.join('@' + k for k in names)})",
            old=Typed("INT64", None if old is None else old.stamp), **values) == 1

    def _write_run(self, spec: RunSpec, cols: tuple[Any, ...], old: _RunRow | None,
                   entries: dict[tuple[str, str], Entry] | None, files: list[list[Any]],
                   tests_hash: str | None) -> Run | None:
        """Load the new generation (if ``entries``), flip the run row, drop the old one."""
        now = now_us()
        created = now if old is None else to_us(old.created_at)
        updated = now if old is None else max(now, to_us(old.updated_at) + 1)  # type: ignore[operator]
        day = datetime.fromtimestamp(now / 1e6, UTC).date() if old is None else old.run_day
        gen = new_id() if old is None or entries is not None else old.gen
        prev_gen = None if old is None else (old.gen if entries is not None else old.prev_gen)
        if entries is not None and entries:
            self._load_generation(spec.job, spec.run_id, gen, day, entries)
        if old is None:
            self._ensure_job(spec.job)
        counts = (counts_of(entries) if entries is not None
                  else RunCounts() if old is None
                  else RunCounts(old.n_total, old.n_passed, old.n_failed, old.n_errors,
                                 old.n_skipped, old.n_flaked))
        payload, status, started, finished, url, variant, metadata = cols
        values: dict[str, Any] = {
            "job": spec.job, "run_id": spec.run_id, "payload": Typed("STRING", payload),
            "status": status, "started_at": ts(started), "finished_at": ts(finished),
            "url": Typed("STRING", url), "variant": variant, "metadata": metadata,
            "files": json.dumps(files, ensure_ascii=False),
            "tests_hash": Typed("STRING", tests_hash), "gen": gen,
            "prev_gen": Typed("INT64", prev_gen), "run_day": day, "n_total": counts.total,
            "n_passed": counts.passed, "n_failed": counts.failed, "n_errors": counts.errors,
            "n_skipped": counts.skipped, "n_flaked": counts.flaked, "stamp": new_id(),
            "created_at": ts(created), "updated_at": ts(updated),
        }
        if not self._commit_run(old, values):
            if entries and (old is None or gen != old.gen):
                self._drop_generation(spec.job, spec.run_id, day, gen)
            return None
        if old is not None and entries is not None:
            # Keep the generation just replaced for readers mid-read; drop the one before.
            self._drop_generation(spec.job, spec.run_id, day, old.prev_gen)
        row = _RunRow(tuple(v.value if isinstance(v, Typed) else v for v in values.values()))
        return row.run()

    def put_run(self, spec: RunSpec, tests: Sequence[TestResult] | None = None
                ) -> tuple[Run, WriteOutcome]:
        cols = spec_columns(spec)
        entries = None if tests is None else entries_of(prepare_tests(tests))
        digest = None if entries is None else fingerprint(entries)

        def attempt() -> tuple[Run, WriteOutcome] | None:
            old = self._run_row(spec.job, spec.run_id)
            if old is None:
                run = self._write_run(spec, cols, None, entries or None, [],
                                      digest or EMPTY_FINGERPRINT)
                return None if run is None else (run, WriteOutcome.CREATED)
            files = json.loads(old.files)
            tests_same = entries is None or (digest == old.tests_hash and not files)
            if old.spec_columns() == cols and tests_same:
                return old.run(), WriteOutcome.UNCHANGED
            if entries is None or tests_same:
                run = self._write_run(spec, cols, old, None, files, old.tests_hash)
            else:
                run = self._write_run(spec, cols, old, entries, [], digest)
            return None if run is None else (run, WriteOutcome.UPDATED)

        return self._retrying(attempt)  # type: ignore[no-any-return]

    def attach_junit(self, job: str, run_id: str, files: Sequence[AttachedFile]
                     ) -> tuple[Run, tuple[bool, ...]]:
        batches = [prepare_tests(f.tests) for f in files]

        def attempt() -> tuple[Run, tuple[bool, ...]] | None:
            old = self._run_row(job, run_id)
            if old is None:
                raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
            stored = json.loads(old.files)
            seen = {sha for _, sha, _ in stored}
            added: list[bool] = []
            incoming: dict[tuple[str, str], Entry] = {}
            new_files: list[list[Any]] = []
            for attached, batch in zip(files, batches, strict=True):
                sha = attached.file.sha256
                added.append(sha not in seen)
                if sha in seen:
                    continue
                seen.add(sha)
                new_files.append([attached.file.name, sha, attached.file.tests])
                for key, entry in batch.entries().items():
                    incoming[key] = merge_entry(incoming[key], entry) if key in incoming else entry
            if not new_files:
                return old.run(), tuple(added)
            merged = self._entries(old) if old.n_total else {}
            for key, entry in incoming.items():
                merged[key] = merge_entry(merged[key], entry) if key in merged else entry
            # The results no longer are what was put: the fingerprint is cleared so a later
            # put of the same tests writes (and drops the files).
            run = self._write_run(RunSpec(job=job, run_id=run_id, status=RunStatus(old.status)),
                                  old.spec_columns(), old, merged, stored + new_files, None)
            return None if run is None else (run, tuple(added))

        return self._retrying(attempt)  # type: ignore[no-any-return]

    def get_run(self, job: str, run_id: str) -> Run | None:
        row = self._run_row(job, run_id)
        return None if row is None else row.run()

    def list_runs(self, job: str, *, where: RunFilter = RunFilter(),  # noqa: B008
                  limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        clauses = ["job = @job"]
        params: dict[str, Any] = {"job": job, "n": limit + 1}
        if where.payload is not None:
            clauses.append("payload = @payload")
            params["payload"] = where.payload
        if where.status is not None:
            clauses.append("status = @status")
            params["status"] = RunStatus(where.status).value
        if where.since is not None:
            clauses.append("COALESCE(started_at, created_at) >= @since")
            params["since"] = ts(to_us(where.since))
        if cursor is not None:
            owner, created, last_id = decode_cursor(cursor, "runs", (str, int, str))
            if owner != job:
                raise InvalidCursor("the cursor belongs to another job's listing")
            clauses.append("(created_at < @c_at OR (created_at = @c_at AND run_id < @c_id))")
            params["c_at"], params["c_id"] = ts(created), last_id
        rows = self._conn.rows(
            f"SELECT {RUN_COLUMNS} FROM {self._conn.table('runs')} WHERE {' AND '.join(clauses)}"
            " ORDER BY created_at DESC, run_id DESC LIMIT @n", **params)
        runs = [_RunRow(row) for row in rows]
        items = tuple(row.run() for row in runs[:limit])
        if len(runs) <= limit:
            return Page(items, None)
        last = runs[limit - 1]
        return Page(items, encode_cursor("runs", [job, to_us(last.created_at), last.run_id]))

    def get_run_tests(self, job: str, run_id: str) -> list[TestResult]:
        c = self._conn
        # One query: the LEFT JOIN tells "no such run" (no row) from "no tests" (NULL row).
        rows = c.rows(
            f"SELECT r.suite, r.name, r.status, r.duration_ms, r.message"
            f" FROM {c.table('runs')} u LEFT JOIN {c.table('results')} r"
            " ON r.job = u.job AND r.run_id = u.run_id AND r.run_day = u.run_day"
            " AND r.gen = u.gen WHERE u.job = @job AND u.run_id = @run_id",
            job=job, run_id=run_id)
        if not rows:
            raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
        tests = [TestResult(name, suite, STATUSES[status],
                            None if d is None else d / 1000, m)
                 for suite, name, status, d, m in rows if suite is not None]
        tests.sort(key=lambda t: (t.suite, t.name))
        return tests

    # -- payloads ----------------------------------------------------------------------------

    def put_payload(self, payload: Payload) -> tuple[Payload, WriteOutcome]:
        for job, runs in dict(payload.expected).items():
            if not isinstance(job, str) or isinstance(runs, bool) or not isinstance(runs, int):
                raise TypeError(f"expected runs must map job names to integers: {job!r}: {runs!r}")
        expected = dump_map(payload.expected)
        deadline = to_us(payload.deadline)
        c = self._conn

        def attempt() -> tuple[Payload, WriteOutcome] | None:
            rows = c.rows(f"SELECT expected, deadline, stamp, created_at, updated_at"
                          f" FROM {c.table('payloads')} WHERE id = @id", id=payload.id)
            now = now_us()
            if rows and (rows[0][0], us(rows[0][1])) == (expected, deadline):
                return self._payload(payload.id, rows[0]), WriteOutcome.UNCHANGED
            created = to_us(rows[0][3]) if rows else now
            updated = max(now, to_us(rows[0][4]) + 1) if rows else now  # type: ignore[operator]
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
            stored = self._payload(payload.id, (expected, from_us(deadline), stamp,
                                                from_us(created), from_us(updated)))
            return stored, WriteOutcome.UPDATED if rows else WriteOutcome.CREATED

        return self._retrying(attempt)  # type: ignore[no-any-return]

    @staticmethod
    def _payload(payload_id: str, row: tuple[Any, ...]) -> Payload:
        expected, deadline, _, created_at, updated_at = row
        return Payload(id=payload_id, expected=json.loads(expected), deadline=deadline,
                       created_at=created_at, updated_at=updated_at)

    def get_payload(self, payload_id: str) -> Payload | None:
        c = self._conn
        rows = c.rows(f"SELECT expected, deadline, stamp, created_at, updated_at"
                      f" FROM {c.table('payloads')} WHERE id = @id", id=payload_id)
        return self._payload(payload_id, rows[0]) if rows else None

    # -- tokens ------------------------------------------------------------------------------

    def add_token(self, token_hash: str, scope: Scope, label: str) -> None:
        c = self._conn
        with c.lock:
            c.execute(f"MERGE {c.table('tokens')} T USING (SELECT @hash AS hash) S"
                      " ON T.hash = S.hash WHEN MATCHED THEN UPDATE SET scope = @scope,"
                      " label = @label WHEN NOT MATCHED THEN INSERT (hash, scope, label,"
                      " created_at) VALUES (@hash, @scope, @label, @now)",
                      hash=token_hash, scope=Scope(scope).value, label=label,
                      now=ts(now_us()))

    def find_token(self, token_hash: str) -> Scope | None:
        c = self._conn
        rows = c.rows(f"SELECT scope FROM {c.table('tokens')} WHERE hash = @hash",
                      hash=token_hash)
        return Scope(rows[0][0]) if rows else None
