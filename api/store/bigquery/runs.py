"""Runs and their tests in the BigQuery backend (a part of BigQueryStore).

See :mod:`api.store.bigquery.store` for the write guarantees: tests are written as a new
generation before one compare-and-set ``MERGE`` flips the run's row to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
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
from api.store.base import AttachedFile, AuditEntry, InvalidCursor, NotFound, RunFilter
from api.store.batch import Entry, merge_entries, new_attachments, prepare_tests
from api.store.bigquery.client import Connection, Typed, ints, retrying
from api.store.bigquery.logs import delete_logs
from api.store.bigquery.rows import (
    EMPTY_FINGERPRINT,
    RUN_COLUMNS,
    RunRow,
    fingerprint,
    new_id,
    now_us,
    spec_columns,
    ts,
)
from api.store.codec import STATUSES, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit


def ensure_job(c: Connection, name: str) -> None:
    """Create the job with default settings unless it exists (a run creates its job)."""
    now = now_us()
    c.execute(f"MERGE {c.table('jobs')} T USING (SELECT @name AS name) S ON T.name = S.name"
              " WHEN NOT MATCHED THEN INSERT (name, variant, policy, expected_runs,"
              " settings, stamp, created_at, updated_at) VALUES (@name, '{}', NULL, NULL,"
              " '{}', @stamp, @now, @now)", name=name, stamp=new_id(), now=ts(now))


class BigQueryRuns:
    """Runs and their tests on the store's :class:`Connection`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _run_row(self, job: str, run_id: str) -> RunRow | None:
        rows = self._conn.rows(f"SELECT {RUN_COLUMNS} FROM {self._conn.table('runs')}"
                               " WHERE job = @job AND run_id = @run_id", job=job, run_id=run_id)
        return RunRow(*rows[0]) if rows else None

    def _entries(self, row: RunRow) -> dict[tuple[str, str], Entry]:
        c = self._conn
        rows = c.rows(f"SELECT suite, name, status, duration_ms, message, informing"
                      f" FROM {c.table('results')}"
                      " WHERE run_day = @day AND job = @job AND run_id = @run_id AND gen = @gen",
                      day=row.run_day, job=row.job, run_id=row.run_id, gen=row.gen)
        return {(s, n): (int(st), d, m, bool(i)) for s, n, st, d, m, i in rows}

    def _write_generation(self, job: str, run_id: str, gen: int, day: date,
                         entries: dict[tuple[str, str], Entry]) -> None:
        self._conn.append("results", (
            {"job": job, "run_id": run_id, "gen": gen, "run_day": day.isoformat(),
             "suite": suite, "name": name, "status": status, "duration_ms": duration,
             "message": message, "informing": informing or None}
            for (suite, name), (status, duration, message, informing) in entries.items()))

    def _drop_generation(self, job: str, run_id: str, day: date, gen: int | None) -> None:
        if gen is None:
            return
        c = self._conn
        c.execute(f"DELETE FROM {c.table('results')} WHERE run_day = @day AND job = @job"
                  " AND run_id = @run_id AND gen = @gen", day=day, job=job, run_id=run_id,
                  gen=gen)

    def _commit_run(self, old: RunRow | None, values: dict[str, Any]) -> bool:
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

    def _write_run(self, spec: RunSpec, cols: tuple[Any, ...], old: RunRow | None,
                   entries: dict[tuple[str, str], Entry] | None, files: list[list[Any]],
                   tests_hash: str | None,
                   measures: tuple[int | None, str | None] | None = None) -> Run | None:
        """Load the new generation (if ``entries``), flip the run row, drop the old one.

        ``measures`` (generation, JSON) replaces the run's measurements in the same flip;
        ``None`` keeps them (see :mod:`api.store.bigquery.disruption`)."""
        now = now_us()
        created = now if old is None else _us(old.created_at)
        updated = now if old is None else max(now, _us(old.updated_at) + 1)
        day = datetime.fromtimestamp(now / 1e6, UTC).date() if old is None else old.run_day
        gen = new_id() if old is None or entries is not None else old.gen
        prev_gen = None if old is None else (old.gen if entries is not None else old.prev_gen)
        if entries is not None and entries:
            self._write_generation(spec.job, spec.run_id, gen, day, entries)
        if old is None:
            ensure_job(self._conn, spec.job)
        counts = (RunCounts.tally((entry[0], 1) for entry in entries.values())
                  if entries is not None
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
        if measures is None:
            measures = (None, None) if old is None else (old.mgen, old.measures)
        values["mgen"] = Typed("INT64", measures[0])
        values["measures"] = Typed("STRING", measures[1])
        if not self._commit_run(old, values):
            if entries and (old is None or gen != old.gen):
                self._drop_generation(spec.job, spec.run_id, day, gen)
            return None
        if old is not None and entries is not None:
            # Keep the generation just replaced for readers mid-read; drop the one before.
            self._drop_generation(spec.job, spec.run_id, day, old.prev_gen)
        row = RunRow(*(v.value if isinstance(v, Typed) else v for v in values.values()))
        return row.run()

    def put_run(self, spec: RunSpec, tests: Sequence[TestResult] | None = None
                ) -> tuple[Run, WriteOutcome]:
        cols = spec_columns(spec)
        entries = None if tests is None else prepare_tests(tests).entries()
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

        return retrying(self._conn, attempt)

    def attach_junit(self, job: str, run_id: str, files: Sequence[AttachedFile]
                     ) -> tuple[Run, tuple[bool, ...]]:
        batches = [prepare_tests(f.tests) for f in files]

        def attempt() -> tuple[Run, tuple[bool, ...]] | None:
            old = self._run_row(job, run_id)
            if old is None:
                raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
            stored = json.loads(old.files)
            seen = {sha for _, sha, _ in stored}
            added, new_files, incoming = new_attachments(files, batches, seen)
            if not new_files:
                return old.run(), added
            merged = self._entries(old) if old.n_total else {}
            merge_entries(merged, incoming)
            # The results no longer are what was put: the fingerprint is cleared so a later
            # put of the same tests writes (and drops the files).
            run = self._write_run(RunSpec(job=job, run_id=run_id, status=RunStatus(old.status)),
                                  old.spec_columns(), old, merged,
                                  stored + [[f.name, f.sha256, f.tests] for f in new_files],
                                  None)
            return None if run is None else (run, added)

        return retrying(self._conn, attempt)

    def delete_run(self, job: str, run_id: str, audit: AuditEntry,
                   insert_audit: Callable[[AuditEntry, int | None], None]) -> None:
        """Audit, then drop the run's row (readers stop seeing it at once), then the results
        of the generations it named. A crash in between leaves an audited run still there
        (deleting again finishes) or unreferenced results, never an unaudited deletion."""
        c = self._conn
        with c.lock:
            row = self._run_row(job, run_id)
            if row is None:
                raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
            insert_audit(audit, None)
            c.execute(f"DELETE FROM {c.table('runs')} WHERE job = @job AND run_id = @run_id",
                      job=job, run_id=run_id)
            gens = [gen for gen in (row.gen, row.prev_gen) if gen is not None]
            c.execute(f"DELETE FROM {c.table('results')} WHERE run_day = @day AND job = @job"
                      " AND run_id = @run_id AND gen IN UNNEST(@gens)", day=row.run_day,
                      job=job, run_id=run_id, gens=ints(gens))
            delete_logs(c, job, run_id)
            if row.mgen is not None:  # the run's measurements (api/store/bigquery/disruption.py)
                c.execute(f"DELETE FROM {c.table('measurements')} WHERE job = @job"
                          " AND run_id = @run_id", job=job, run_id=run_id)
            # The run's failure-pattern matches and scan records (api/store/bigquery/matches.py).
            for table in ("matches", "log_scans"):
                c.execute(f"DELETE FROM {c.table(table)} WHERE job = @job AND run_id = @run_id",
                          job=job, run_id=run_id)

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
        runs = [RunRow(*row) for row in rows]
        items = tuple(row.run() for row in runs[:limit])
        if len(runs) <= limit:
            return Page(items, None)
        last = runs[limit - 1]
        return Page(items, encode_cursor("runs", [job, _us(last.created_at), last.run_id]))

    def get_run_tests(self, job: str, run_id: str) -> list[TestResult]:
        c = self._conn
        # One query: the LEFT JOIN tells "no such run" (no row) from "no tests" (NULL row).
        rows = c.rows(
            f"SELECT r.suite, r.name, r.status, r.duration_ms, r.message, r.informing"
            f" FROM {c.table('runs')} u LEFT JOIN {c.table('results')} r"
            " ON r.job = u.job AND r.run_id = u.run_id AND r.run_day = u.run_day"
            " AND r.gen = u.gen WHERE u.job = @job AND u.run_id = @run_id",
            job=job, run_id=run_id)
        if not rows:
            raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
        tests = [TestResult(name, suite, STATUSES[status],
                            None if d is None else d / 1000, m, informing=bool(i))
                 for suite, name, status, d, m, i in rows if suite is not None]
        tests.sort(key=lambda t: (t.suite, t.name))
        return tests


def _us(moment: datetime) -> int:
    """Microseconds of a stored NOT NULL time."""
    value = to_us(moment)
    assert value is not None
    return value
