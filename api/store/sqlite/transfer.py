"""The SQLite backend's :class:`~api.store.transfer.TransferStore` (``flakegate db copy``).

Imports resolve logical names to this database's ids (jobs, runs, interned tests and
measurement keys) and write with ``INSERT OR IGNORE`` on each table's natural key, so a batch
imported twice changes nothing. Rows that carry ids users see (audit ``seq``, pattern, scan
and breakage ids) are inserted with those ids. Runs are inserted in the source's order, so
their ``pk`` keeps ties of ``created_at`` in the same order as the source lists them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from api.store.errors import NotFound
from api.store.logs import Packed
from api.store.sqlite.db import Database
from api.store.sqlite.results import EMPTY_FINGERPRINT, fingerprint_of, test_ids
from api.store.sqlite.transfer_export import export_rows
from api.store.transfer import Copying, Progress, Row, TransferStore, table_named

Importer = Callable[[sqlite3.Connection, Sequence[Row]], int]  # returns rows new


class _Ids:
    """Resolves names to this database's ids within one import transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._jobs: dict[str, int] = {}
        self._runs: dict[tuple[str, str], int] = {}

    def job(self, name: str) -> int:
        if name not in self._jobs:
            row = self.conn.execute("SELECT id FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"job {name!r} does not exist")
            self._jobs[name] = int(row[0])
        return self._jobs[name]

    def run(self, job: str, run_id: str) -> int:
        if (job, run_id) not in self._runs:
            row = self.conn.execute("SELECT pk FROM runs WHERE job_id = ? AND run_id = ?",
                                    (self.job(job), run_id)).fetchone()
            if row is None:
                raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
            self._runs[job, run_id] = int(row[0])
        return self._runs[job, run_id]

    def tests(self, keys: list[tuple[str, str]]) -> list[int]:
        return test_ids(self.conn, keys) if keys else []


def _plain(table: str, sql: str) -> Importer:
    """Rows whose logical columns are the table's own, in order."""
    marks = ", ".join("?" * len(table_named(table).columns))

    def run(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
        return conn.executemany(f"{sql} VALUES ({marks})", rows).rowcount
    return run


def _runs(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
    ids = _Ids(conn)
    added = 0
    for row in rows:
        files = json.loads(row[15])
        # The fingerprint is over this database's test ids: the results import sets it.
        cur = conn.execute(
            "INSERT OR IGNORE INTO runs (job_id, run_id, payload, status, started_at,"
            " finished_at, url, variant, metadata, n_total, n_passed, n_failed, n_errors,"
            " n_skipped, n_flaked, tests_hash, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ids.job(row[0]), *row[1:15], None if files else EMPTY_FINGERPRINT, *row[16:]))
        if cur.rowcount:
            added += 1
            pk = ids.run(row[0], row[1])
            conn.executemany(f"INSERT OR IGNORE INTO files (run_pk, sha256, name, tests)"
                             f" VALUES ({pk}, ?, ?, ?)", [tuple(f) for f in files])
    return added


def _results(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
    ids = _Ids(conn)
    pks = [ids.run(row[0], row[1]) for row in rows]
    tests = ids.tests([(row[2], row[3]) for row in rows])
    added = conn.executemany("INSERT OR IGNORE INTO results (run_pk, test_id, status, duration_ms)"
                     " VALUES (?, ?, ?, ?)",
                             [(pk, t, row[4], row[5])
                              for pk, t, row in zip(pks, tests, rows, strict=True)]).rowcount
    conn.executemany("INSERT OR IGNORE INTO messages (run_pk, test_id, message) VALUES (?, ?, ?)",
                     [(pk, t, row[6]) for pk, t, row in zip(pks, tests, rows, strict=True)
                      if row[6] is not None])
    conn.executemany("INSERT OR IGNORE INTO informing (run_pk, test_id) VALUES (?, ?)",
                     [(pk, t) for pk, t, row in zip(pks, tests, rows, strict=True) if row[7]])
    for pk in dict.fromkeys(pks):
        _refingerprint(conn, pk)
    return added


def _refingerprint(conn: sqlite3.Connection, pk: int) -> None:
    """The run's fingerprint as ``put_run`` would have stored it for these results (a run with
    attached files has none: its re-put always rewrites)."""
    if conn.execute("SELECT 1 FROM files WHERE run_pk = ? LIMIT 1", (pk,)).fetchone():
        return
    triples = conn.execute("SELECT test_id, status, duration_ms FROM results WHERE run_pk = ?"
                           " ORDER BY test_id", (pk,)).fetchall()
    notes = conn.execute("SELECT test_id, message FROM messages WHERE run_pk = ?"
                         " ORDER BY test_id", (pk,)).fetchall()
    informing = [r[0] for r in conn.execute("SELECT test_id FROM informing WHERE run_pk = ?"
                                            " ORDER BY test_id", (pk,))]
    conn.execute("UPDATE runs SET tests_hash = ? WHERE pk = ?",
                 (fingerprint_of([tuple(t) for t in triples], [tuple(n) for n in notes],
                                 informing), pk))


def _with_job(sql: str, width: int) -> Importer:
    """Rows that start with a job name, stored as the job's id."""
    def run(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
        ids = _Ids(conn)
        return conn.executemany(f"{sql} VALUES ({', '.join('?' * width)})",
                                [(ids.job(row[0]), *row[1:]) for row in rows]).rowcount
    return run


def _with_run(sql: str, width: int, convert: Callable[[Row], tuple[Any, ...]] = tuple
              ) -> Importer:
    """Rows that start with ``(job, run_id)``, stored as the run's pk."""
    def run(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
        ids = _Ids(conn)
        return conn.executemany(f"{sql} VALUES ({', '.join('?' * width)})",
                                [(ids.run(row[0], row[1]), *convert(row[2:]))
                                 for row in rows]).rowcount
    return run


def _baseline_tests(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
    ids = _Ids(conn)
    tests = ids.tests([(row[2], row[3]) for row in rows])
    return conn.executemany(
        "INSERT OR IGNORE INTO baseline_tests (job_id, version, test_id, runs, passes, failures,"
        " flakes, pass_rate, stddev, latched, observed_pass_rate)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(ids.job(row[0]), row[1], t, *row[4:])
         for t, row in zip(tests, rows, strict=True)]).rowcount


def _baseline_runs(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
    ids = _Ids(conn)
    return conn.executemany("INSERT OR IGNORE INTO baseline_runs (job_id, version, run_pk)"
                     " VALUES (?, ?, ?)",
                            [(ids.job(row[0]), row[1], ids.run(row[0], row[2]))
                             for row in rows]).rowcount


def _log(values: Row) -> tuple[Any, ...]:
    packed = Packed.of(values[-1])
    return (*values[:-1], packed.data)


def _run_measures(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
    ids = _Ids(conn)
    added = 0
    for row in rows:
        pk = ids.run(row[0], row[1])
        added += conn.execute(
            "INSERT OR IGNORE INTO run_measures (run_pk, release, from_release, platform,"
            " architecture, network, topology, master_nodes_updated, from_cluster_data,"
            " has_disruptions, has_alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (pk, *row[2:12])).rowcount
        conn.executemany(f"INSERT OR IGNORE INTO measure_files (run_pk, sha256, name, kind)"
                         f" VALUES ({pk}, ?, ?, ?)", [tuple(f) for f in json.loads(row[12])])
    return added


def _measurements(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
    ids = _Ids(conn)
    keys = list(dict.fromkeys(tuple(row[2:6]) for row in rows))
    conn.executemany("INSERT OR IGNORE INTO measure_keys (kind, name, namespace, level)"
                     " VALUES (?, ?, ?, ?)", keys)
    key_ids = {key: int(conn.execute(
        "SELECT id FROM measure_keys WHERE kind = ? AND name = ? AND namespace = ?"
        " AND level = ?", key).fetchone()[0]) for key in keys}
    return conn.executemany("INSERT OR IGNORE INTO measurements (run_pk, key_id, seconds)"
                     " VALUES (?, ?, ?)",
                     [(ids.run(row[0], row[1]), key_ids[tuple(row[2:6])], row[6])
                             for row in rows]).rowcount


def _matches(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
    # Matches have no key of their own: a row equal in every column is the same match.
    ids = _Ids(conn)
    return conn.executemany(
        "INSERT INTO matches (run_pk, step, pattern_id, version, line_number, start, \"end\","
        " line_text) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE NOT EXISTS (SELECT 1 FROM"
        " matches WHERE run_pk = ?1 AND step = ?2 AND pattern_id = ?3 AND version = ?4"
        " AND line_number = ?5 AND start = ?6 AND \"end\" = ?7 AND line_text = ?8)",
        [(ids.run(row[0], row[1]), *row[2:]) for row in rows]).rowcount


IMPORTS: dict[str, Importer] = {
    "jobs": _plain("jobs", "INSERT OR IGNORE INTO jobs (name, variant, policy, expected_runs,"
                   " settings, created_at, updated_at)"),
    "payloads": _plain("payloads", "INSERT OR IGNORE INTO payloads (id, expected, deadline,"
                       " created_at, updated_at)"),
    "tokens": lambda conn, rows: conn.executemany(
        "INSERT OR IGNORE INTO tokens (hash, scope, label, created_at, expires_at, revoked_at,"
        " revoked_by, last_used_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, str(row[0])[:12]) for row in rows]).rowcount,
    "runs": _runs,
    "results": _results,
    "baselines": _with_job("INSERT OR IGNORE INTO baselines (job_id, version, created_at, runs,"
                           " tests, window_days, max_runs, exclude_payload, latch, prior, note,"
                           " runs_recorded)", 12),
    "baseline_tests": _baseline_tests,
    "baseline_runs": _baseline_runs,
    "audit": _with_job("INSERT OR IGNORE INTO audit (job_id, id, at, action, actor, reason,"
                       " tests, version, field, old, new)", 11),
    "crawl_records": _plain("crawl_records", "INSERT OR IGNORE INTO crawl_records (source,"
                            " build, state, attempts, reason, job, run_id, first_seen,"
                            " updated_at)"),
    "logs": _with_run("INSERT OR IGNORE INTO logs (run_pk, step, sha256, size, lines,"
                      " received_bytes, omitted_bytes, omitted_lines, cut_lines, source,"
                      " stored_at, data)", 12, _log),
    "run_measures": _run_measures,
    "measurements": _measurements,
    "disruption_baselines": _plain("disruption_baselines", "INSERT OR IGNORE INTO"
                                   " disruption_baselines (kind, version, created_at,"
                                   " window_days, n_rows, actor, note)"),
    "disruption_baseline_rows": _plain(
        "disruption_baseline_rows", "INSERT OR IGNORE INTO disruption_baseline_rows (kind,"
        " version, name, namespace, level, release, from_release, platform, architecture,"
        " network, topology, master_nodes_updated, job_runs, p50, p75, p95, p99, mean, stddev,"
        " first_observed, last_observed)"),
    "patterns": _plain("patterns", "INSERT OR IGNORE INTO patterns (id, version, author,"
                       " created_at, retired_at, promoted)"),
    "pattern_versions": _plain("pattern_versions", "INSERT OR IGNORE INTO pattern_versions"
                               " (pattern_id, version, expression, syntax, tags, steps,"
                               " specificity, lines_from_end, description, created_at, actor)"),
    "pattern_audit": _plain("pattern_audit", "INSERT OR IGNORE INTO pattern_audit (pattern_id,"
                            " seq, at, action, actor, reason, version)"),
    "log_scans": _with_run("INSERT OR IGNORE INTO log_scans (run_pk, step, pattern_id,"
                           " version)", 4),
    "matches": _matches,
    "scans": _plain("scans", "INSERT OR IGNORE INTO scans (id, kind, state, pattern_id,"
                    " pattern_version, job, since, logs_scanned, matches, error, actor,"
                    " created_at, updated_at)"),
    "breakages": _plain("breakages", "INSERT OR IGNORE INTO breakages (id, cause, jobs,"
                        " pattern_id, notes, started_at, created_by, resolved_at, resolution,"
                        " resolved_by)"),
    "work": _plain("work", "INSERT OR IGNORE INTO work (id, kind, key, body, state, attempts,"
                   " not_before, error, created_at, updated_at)"),
    "github_publications": _plain("github_publications", "INSERT OR IGNORE INTO"
                                  " github_publications (repository, target, digest,"
                                  " remote_id, updated_at)"),
}


class SqliteTransfer(TransferStore):
    """:class:`TransferStore` on the store's :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def export_rows(self, table: str, after: str | None, limit: int) -> tuple[list[Row],
                                                                              str | None]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._db.read() as conn:
            return export_rows(conn, table, after, limit)

    def import_rows(self, table: str, rows: Sequence[Row]) -> int:
        table_named(table)
        if not rows:
            return 0
        with self._db.write() as tx:
            added = IMPORTS[table](tx.conn, rows)
            if added == 0:  # nothing new: whatever the batch touched was already so
                tx.commit = False
            return added

    def load_progress(self) -> Copying | None:
        with self._db.read() as conn:
            rows = conn.execute("SELECT copy_id, source, tbl, after, rows, done"
                                " FROM transfer_progress ORDER BY tbl").fetchall()
        if not rows:
            return None
        return Copying(rows[0][0], rows[0][1], {
            tbl: Progress(tbl, after, int(n), bool(done)) for _, _, tbl, after, n, done in rows})

    def save_progress(self, copy_id: str, source: str, progress: Progress) -> None:
        with self._db.write() as tx:
            tx.conn.execute(
                "INSERT INTO transfer_progress (copy_id, source, tbl, after, rows, done)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (copy_id, tbl) DO UPDATE SET"
                " after = excluded.after, rows = excluded.rows, done = excluded.done",
                (copy_id, source, progress.table, progress.after, progress.rows,
                 int(progress.done)))

