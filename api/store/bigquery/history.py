"""History reads, verdict inputs, baselines and the audit log of the BigQuery backend.

The two expensive reads, a verdict's ``payload_evidence`` and a baseline's
``history_tallies``, are two queries each: first the chosen runs (the small ``runs`` table),
then one aggregate over ``results`` filtered by the constant list of those runs' days, so that
BigQuery prunes partitions (it cannot prune from a join's values), by job (clustering) and by
the runs' current generations. Aggregation happens in BigQuery; only one row per test comes
back.

Baselines: a version's per-test records are loaded first under a random ``token``, then the
version's header row is inserted with a MERGE that only inserts if the version number is still
free. Readers join records to the header by token, so a version is visible whole or not at
all, and a loser of a race for a version number deletes its records and takes the next one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    StoreUnavailable,
    VerdictInputs,
)
from api.store.bigquery.client import Conflict, Connection, Typed, dates, ints, strings
from api.store.bigquery.rows import (
    JOB_COLUMNS,
    PAYLOAD_COLUMNS,
    job_of,
    new_id,
    now_us,
    payload_of,
    ts,
)
from api.store.codec import audit_value, audit_values, from_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.own_runs import without_own_runs
from api.store.rows import check_limit, evidence_in

_BASELINE = ("job, version, token, created_at, runs, tests, window_days, max_runs,"
             " exclude_payload, latch, prior, note")
# pending_since: the pending runs' start (or creation) times as comma-separated microseconds.
_RUN_SUMMARY = (f"job, COUNT(*) AS total, COUNTIF(status != 'pending') AS finished,"
                f" COUNTIF({evidence_in()}) AS counted, MAX(updated_at) AS last_change,"
                " STRING_AGG(IF(status = 'pending', CAST(UNIX_MICROS(COALESCE(started_at,"
                " created_at)) AS STRING), NULL), ',') AS pending_since")
_SUMMARY_COLUMNS = "job, total, finished, counted, last_change, pending_since"
# TestStatus codes: 0 passed, 1 failed, 2 error, 3 skipped, 4 flaked.
_TALLY = ("COUNTIF(status = 0) AS passes, COUNTIF(status IN (1, 2)) AS failures,"
          " COUNTIF(status = 4) AS flakes, COUNTIF(status = 3) AS skips")


def _version_of(row: tuple[Any, ...]) -> BaselineVersion:
    (job, version, _, created_at, runs, tests, window_days, max_runs, exclude_payload, latch,
     prior, note) = row
    return BaselineVersion(job=job, version=int(version), created_at=created_at,
                           runs=int(runs), tests=int(tests), window_days=int(window_days),
                           max_runs=int(max_runs), exclude_payload=exclude_payload,
                           latch=bool(latch), prior=Prior.from_dict(json.loads(prior)),
                           note=note)


def _columns(alias: str, columns: str) -> str:
    """``a.x, a.y`` from ``x, y``: a column list qualified by a table alias."""
    return ", ".join(f"{alias}.{name.strip()}" for name in columns.split(","))


def _moment(value: int) -> datetime:
    moment = from_us(value)
    assert moment is not None
    return moment


def _summary(row: tuple[Any, ...]) -> PayloadJobRuns:
    job, total, finished, counted, changed, pending = row
    since = sorted(int(moment) for moment in (pending or "").split(",") if moment)
    return PayloadJobRuns(job=str(job), total=int(total), finished=int(finished),
                          counted=int(counted), last_change=changed,
                          pending_since=tuple(_moment(value) for value in since))


class BigQueryHistory:
    """History reads, verdict inputs, baselines and the audit log on the store's
    :class:`Connection`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- evidence ----------------------------------------------------------------------------

    def _tallies(self, job: str, runs: list[tuple[Any, ...]], *,
                 informing: bool = False) -> list[tuple[Any, ...]]:
        """Per-test (suite, name, passes, failures, flakes, skips) over the given runs, and
        with ``informing`` whether any of them marked the test informing."""
        if not runs:
            return []
        c = self._conn
        marked = ", COUNTIF(informing) > 0" if informing else ""
        return c.rows(
            f"SELECT suite, name, {_TALLY}{marked} FROM {c.table('results')}"
            " WHERE run_day IN UNNEST(@days) AND job = @job AND gen IN UNNEST(@gens)"
            " GROUP BY suite, name",
            days=dates(sorted({day for _, day in runs})), job=job,
            gens=ints([gen for gen, _ in runs]))

    def history_tallies(self, job: str, window: HistoryWindow) -> tuple[int, list[TestTally]]:
        chosen = self.history_window(job, window)
        return len(chosen.run_ids), chosen.tallies

    def history_window(self, job: str, window: HistoryWindow) -> HistorySelection:
        check_limit(window.max_runs)
        c = self._conn
        runs = c.rows(
            f"SELECT gen, run_day, run_id FROM {c.table('runs')}"
            f" WHERE job = @job AND {evidence_in()}"
            " AND (@since IS NULL OR COALESCE(started_at, created_at) >= @since)"
            " AND (@ex IS NULL OR payload IS NULL OR payload != @ex)"
            " ORDER BY COALESCE(started_at, created_at) DESC, created_at DESC, run_id DESC"
            " LIMIT @n", job=job, since=Typed("TIMESTAMP", window.since),
            ex=Typed("STRING", window.exclude_payload), n=window.max_runs)
        tallies = [TestTally(s, n, int(p), int(f), int(k), int(sk))
                   for s, n, p, f, k, sk in self._tallies(job, [r[:2] for r in runs])]
        return HistorySelection(run_ids=tuple(str(r[2]) for r in runs), tallies=tallies)

    def payload_runs(self, payload: str) -> list[PayloadJobRuns]:
        c = self._conn
        rows = c.rows(f"SELECT {_RUN_SUMMARY} FROM {c.table('runs')} WHERE payload = @payload"
                      " GROUP BY job ORDER BY job", payload=payload)
        return [_summary(row) for row in rows]

    def verdict_inputs(self, payload: str) -> VerdictInputs:
        # Two queries whatever the number of jobs: the registration with the run summaries,
        # then the involved jobs with their newest baseline headers. The first is a full join
        # on a constant key (either side may be missing; BigQuery wants an equality there).
        c = self._conn
        rows = c.rows(
            f"WITH p AS (SELECT 0 AS k, {PAYLOAD_COLUMNS} FROM {c.table('payloads')}"
            f" WHERE id = @id), r AS (SELECT 0 AS k, {_RUN_SUMMARY} FROM {c.table('runs')}"
            f" WHERE payload = @id GROUP BY job) SELECT {_columns('p', PAYLOAD_COLUMNS)},"
            f" {_columns('r', _SUMMARY_COLUMNS)} FROM p FULL OUTER JOIN r ON p.k = r.k"
            " ORDER BY r.job", id=payload)
        cut = len(PAYLOAD_COLUMNS.split(","))
        # A registration's updated_at (its last column) and a summary's job are NOT NULL.
        registered = (payload_of(payload, rows[0][:cut])
                      if rows and rows[0][cut - 1] is not None else None)
        runs = tuple(_summary(row[cut:]) for row in rows if row[cut] is not None)
        names = list(dict.fromkeys([*(registered.expected if registered else {}),
                                    *(r.job for r in runs)]))
        if not names:
            return VerdictInputs(payload=registered, runs=runs, jobs={}, baselines={})
        found = c.rows(
            f"SELECT {_columns('j', JOB_COLUMNS)}, {_columns('b', _BASELINE)}"
            f" FROM {c.table('jobs')} j LEFT JOIN (SELECT job, MAX(version) AS newest"
            f" FROM {c.table('baselines')} WHERE job IN UNNEST(@names) GROUP BY job) m"
            f" ON m.job = j.name LEFT JOIN {c.table('baselines')} b"
            " ON b.job = m.job AND b.version = m.newest"
            " WHERE j.name IN UNNEST(@names)", names=strings(names))
        width = len(JOB_COLUMNS.split(","))
        return VerdictInputs(
            payload=registered, runs=runs, jobs={row[0]: job_of(row[:width]) for row in found},
            baselines={row[0]: _version_of(row[width:]) for row in found
                       if row[width] is not None})

    def payload_evidence(self, job: str, payload: str,
                         baseline_version: int | None) -> EvidenceColumns:
        c = self._conn
        # Each run says whether the version counted it (the same query: no extra round trip).
        runs = c.rows(
            f"SELECT r.gen, r.run_day, m.run_id IS NOT NULL FROM {c.table('runs')} r"
            f" LEFT JOIN (SELECT b.run_id FROM {c.table('baseline_runs')} b"
            f" JOIN {c.table('baselines')} h ON h.job = b.job AND h.version = b.version"
            " AND h.token = b.token WHERE b.job = @job AND b.version = @v) m"
            f" ON m.run_id = r.run_id WHERE r.job = @job AND r.payload = @payload"
            f" AND {evidence_in('r.status')}",
            job=job, payload=payload, v=Typed("INT64", baseline_version))
        tallies = self._tallies(job, [run[:2] for run in runs], informing=True)
        own = self._tallies(job, [run[:2] for run in runs if run[2]])
        records: list[tuple[Any, ...]] = []
        if baseline_version is not None:
            records = c.rows(
                "SELECT t.suite, t.name, t.runs, t.passes, t.failures, t.flakes, t.pass_rate,"
                f" t.latched FROM {c.table('baseline_tests')} t JOIN {c.table('baselines')} h"
                " ON h.job = t.job AND h.version = t.version AND h.token = t.token"
                " WHERE t.job = @job AND t.version = @v AND h.job = @job AND h.version = @v",
                job=job, v=baseline_version)
        index = {(s, n): i for i, (s, n, *_) in enumerate(tallies)}
        counts = np.array([row[2:6] for row in tallies], dtype=np.int64).reshape(-1, 4)
        history = np.zeros((len(tallies), 6), dtype=np.float64)
        absent = 0
        for suite, name, runs_, passes, failures, flakes, rate, latched in records:
            i = index.get((suite, name))
            if i is None:
                absent += 1
            else:
                history[i] = (runs_, passes, failures, flakes, rate, float(bool(latched)))
        own_counts = np.zeros((len(tallies), 3), dtype=np.float64)
        for suite, name, passes, failures, flakes, _ in own:
            own_counts[index[(suite, name)]] = (passes, failures, flakes)
        history = without_own_runs(history, own_counts)
        return EvidenceColumns(suites=tuple(row[0] for row in tallies),
                               names=tuple(row[1] for row in tallies),
                               counts=counts, history=history, absent=absent,
                               informing=np.array([bool(row[6]) for row in tallies],
                                                  dtype=bool))

    # -- baselines ---------------------------------------------------------------------------

    def put_baseline(self, job: str, *, window_days: int, max_runs: int,
                     exclude_payload: str | None, latch: bool, runs: int, prior: Prior,
                     tests: Sequence[TestBaseline], note: str | None = None,
                     audit: AuditEntry | None = None,
                     run_ids: Sequence[str] | None = None) -> BaselineVersion:
        c = self._conn
        prior_json = json.dumps(prior.to_dict())
        keys = {(t.suite, t.name) for t in tests}
        if len(keys) != len(tests):  # what a primary key would refuse, refused before writing
            raise ValueError("a baseline version holds each test at most once")
        if audit is not None:
            to_us(audit.at)
        for _ in range(8):
            with c.lock:
                if not c.rows(f"SELECT 1 FROM {c.table('jobs')} WHERE name = @job", job=job):
                    raise NotFound(f"no job named {job!r}")
                latest = c.rows(f"SELECT COALESCE(MAX(version), 0) FROM {c.table('baselines')}"
                                " WHERE job = @job", job=job)[0][0]
                version, token, created = int(latest) + 1, new_id(), now_us()
                c.append("baseline_tests", (
                    {"job": job, "version": version, "token": token, "suite": t.suite,
                     "name": t.name, "runs": t.runs, "passes": t.passes,
                     "failures": t.failures, "flakes": t.flakes, "pass_rate": t.pass_rate,
                     "stddev": t.stddev, "latched": bool(t.latched),
                     "observed_pass_rate": t.observed_pass_rate} for t in tests))
                # Membership travels like the records: under the token, visible with the header.
                c.append("baseline_runs", ({"job": job, "version": version, "token": token,
                                          "run_id": run_id}
                                         for run_id in dict.fromkeys(run_ids or ())))
                if audit is not None:
                    # Written before the header under the version's token: list_audit hides it
                    # until the header (the commit point) exists, so it is never seen alone.
                    self.insert_audit(replace(audit, version=version), token)
                try:
                    won = self._insert_header(job, version, token, created, runs, len(tests),
                                              window_days, max_runs, exclude_payload, latch,
                                              prior_json, note)
                except Conflict:  # BigQuery aborted a concurrent DML: as if we lost the race
                    won = 0
                if won == 1:
                    return _version_of((job, version, token, ts(created).value, runs,
                                        len(tests), window_days, max_runs, exclude_payload,
                                        latch, prior_json, note))
                for table in ("baseline_tests", "baseline_runs"):
                    # Another process took this version: forget our records.
                    c.execute(f"DELETE FROM {c.table(table)} WHERE job = @job"
                              " AND version = @v AND token = @token", job=job, v=version,
                              token=token)
                if audit is not None:
                    c.execute(f"DELETE FROM {c.table('audit')} WHERE job = @job"
                              " AND baseline_token = @token", job=job, token=token)
        raise StoreUnavailable(f"could not allocate a baseline version of {job!r}; retry")

    def _insert_header(self, job: str, version: int, token: int, created: int, runs: int,
                       tests: int, window_days: int, max_runs: int, exclude_payload: str | None,
                       latch: bool, prior_json: str, note: str | None) -> int:
        """The version's commit point: inserts only while the version number is free."""
        c = self._conn
        return c.execute(
            f"MERGE {c.table('baselines')} T USING (SELECT @job AS job, @v AS version) S"
            " ON T.job = S.job AND T.version = S.version WHEN NOT MATCHED THEN INSERT"
            f" ({_BASELINE}) VALUES (@job, @v, @token, @created, @runs, @tests,"
            " @window_days, @max_runs, @ex, @latch, @prior, @note)",
            job=job, v=version, token=token, created=ts(created), runs=runs, tests=tests,
            window_days=window_days, max_runs=max_runs, ex=Typed("STRING", exclude_payload),
            latch=bool(latch), prior=prior_json, note=Typed("STRING", note))

    def baseline_run_ids(self, job: str, version: int) -> frozenset[str] | None:
        c = self._conn
        rows = c.rows(
            f"SELECT h.runs, b.run_id FROM {c.table('baselines')} h LEFT JOIN"
            f" {c.table('baseline_runs')} b ON b.job = h.job AND b.version = h.version"
            " AND b.token = h.token WHERE h.job = @job AND h.version = @v", job=job, v=version)
        if not rows:
            raise NotFound(f"job {job!r} has no baseline version {version}")
        found = frozenset(str(run_id) for _, run_id in rows if run_id is not None)
        # No membership rows for a version that counted runs: stored before membership was.
        return None if not found and int(rows[0][0]) > 0 else found

    def get_baseline(self, job: str, version: int | None = None) -> BaselineVersion | None:
        c = self._conn
        rows = c.rows(f"SELECT {_BASELINE} FROM {c.table('baselines')} WHERE job = @job"
                      " AND (@v IS NULL OR version = @v) ORDER BY version DESC LIMIT 1",
                      job=job, v=Typed("INT64", version))
        return _version_of(rows[0]) if rows else None

    def baseline_tests(self, job: str, version: int) -> list[TestBaseline]:
        c = self._conn
        head = c.rows(f"SELECT token FROM {c.table('baselines')} WHERE job = @job"
                      " AND version = @v", job=job, v=version)
        if not head:
            raise NotFound(f"job {job!r} has no baseline version {version}")
        rows = c.rows(
            "SELECT suite, name, runs, passes, failures, flakes, pass_rate, stddev, latched,"
            f" observed_pass_rate FROM {c.table('baseline_tests')}"
            " WHERE job = @job AND version = @v AND token = @token",
            job=job, v=version, token=head[0][0])
        tests = [TestBaseline(s, n, int(r), int(p), int(f), int(k), float(rate), float(sd),
                              latched=bool(lt), observed_pass_rate=obs)
                 for s, n, r, p, f, k, rate, sd, lt, obs in rows]
        tests.sort(key=lambda t: (t.suite, t.name))
        return tests

    def list_baselines(self, job: str, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        before = decode_cursor(cursor, "baselines", (int,))[0] if cursor else 2**62
        c = self._conn
        rows = c.rows(f"SELECT {_BASELINE} FROM {c.table('baselines')} WHERE job = @job"
                      " AND version < @before ORDER BY version DESC LIMIT @n",
                      job=job, before=before, n=limit + 1)
        items = tuple(_version_of(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(items=items,
                    next_cursor=encode_cursor("baselines", [items[-1].version]) if more else None)

    # -- audit -------------------------------------------------------------------------------

    def add_audit(self, entry: AuditEntry) -> None:
        c = self._conn
        to_us(entry.at)
        with c.lock:
            if not c.rows(f"SELECT 1 FROM {c.table('jobs')} WHERE name = @job", job=entry.job):
                raise NotFound(f"no job named {entry.job!r}")
            self.insert_audit(entry, None)

    def insert_audit(self, entry: AuditEntry, token: int | None,
                     job_stamp: int | None = None) -> None:
        c = self._conn
        tests = json.dumps([list(key) for key in entry.tests], ensure_ascii=False)
        old, new = audit_values(entry)
        # Append-only: a plain INSERT (DML, so no streaming-buffer restrictions). ``seq``
        # is the process's strictly increasing clock: the log's order.
        c.execute(f"INSERT INTO {c.table('audit')} (job, seq, id, at_time, action, actor,"
                  " reason, tests, version, baseline_token, field, old, new, job_stamp)"
                  " VALUES (@job, @seq, @id, @at, @action, @actor, @reason, @tests, @version,"
                  " @token, @field, @old, @new, @stamp)", job=entry.job,
                  seq=now_us(), id=new_id(), at=ts(to_us(entry.at)), action=entry.action,
                  actor=entry.actor, reason=entry.reason, tests=tests,
                  version=Typed("INT64", entry.version), token=Typed("INT64", token),
                  field=Typed("STRING", entry.field), old=Typed("STRING", old),
                  new=Typed("STRING", new), stamp=Typed("INT64", job_stamp))

    def stage_settings_audit(self, job: str, entries: Sequence[AuditEntry],
                             old_stamp: int | None, new_stamp: int) -> None:
        """Before a job row flips from ``old_stamp`` to ``new_stamp``: write the change's
        entries under ``new_stamp``, after confirming those of ``old_stamp``.

        Entries under a stamp show only while that stamp is the job's (or once confirmed), so
        a change whose compare-and-set loses, or never happens, stays out of the log. The
        entries of the stamp in force are confirmed first: after the flip their stamp is no
        longer the job's, yet their change was in force.
        """
        c = self._conn
        if old_stamp is not None:
            c.execute(f"UPDATE {c.table('audit')} SET job_stamp = NULL"
                      " WHERE job = @job AND job_stamp = @stamp", job=job, stamp=old_stamp)
        for entry in entries:
            self.insert_audit(entry, None, new_stamp)

    def list_audit(self, job: str, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        seq, ident = decode_cursor(cursor, "audit", (int, int)) if cursor else (2**62, 0)
        c = self._conn
        # An entry written with a baseline version shows once that version's header exists.
        rows = c.rows(
            f"SELECT a.seq, a.id, a.at_time, a.action, a.actor, a.reason, a.tests, a.version,"
            f" a.field, a.old, a.new"
            f" FROM {c.table('audit')} a LEFT JOIN {c.table('baselines')} h"
            " ON h.job = a.job AND h.token = a.baseline_token"
            f" LEFT JOIN {c.table('jobs')} j ON j.name = a.job"
            " WHERE a.job = @job AND (a.seq < @seq OR (a.seq = @seq AND a.id < @id))"
            " AND (a.baseline_token IS NULL OR h.token IS NOT NULL)"
            " AND (a.job_stamp IS NULL OR a.job_stamp = j.stamp)"
            " ORDER BY a.seq DESC, a.id DESC LIMIT @n", job=job, seq=seq, id=ident,
            n=limit + 1)
        items = tuple(
            AuditEntry(job=job, action=action, actor=actor, reason=reason,
                       tests=tuple((s, n) for s, n in json.loads(tests)),
                       version=version, at=at, field=field, old=audit_value(old),
                       new=audit_value(new))
            for _, _, at, action, actor, reason, tests, version, field, old, new
            in rows[:limit])
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return Page(items=items, next_cursor=(encode_cursor("audit", [int(last[0]), int(last[1])])
                                              if last else None))
