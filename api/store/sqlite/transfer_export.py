"""The SQLite backend's export of logical tables (see :mod:`api.store.transfer`).

Each table is one keyset-paged query: the logical columns, then the columns of the table's
own key (internal ids such as ``run_pk`` and ``test_id``, so each page is one index range
scan and never a sort of the whole table). The key of a page's last row is the next cursor.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.store.logs import unpack
from api.store.transfer import Row, table_named

_RUN = "JOIN runs AS r ON r.pk = {t}.run_pk JOIN jobs AS j ON j.id = r.job_id"


@dataclass(frozen=True, slots=True)
class Export:
    select: str  # "SELECT <logical columns>, <key columns> FROM ... WHERE TRUE"
    keys: tuple[str, ...]
    fix: Callable[[list[object]], None] | None = None  # adjusts a row's values in place
    # (column, query): the column holds the run's pk and becomes the JSON list of its files,
    # read for the whole page in one query (portable SQL: no JSON aggregation).
    files: tuple[int, str] | None = None


def _unpack_log(row: list[object]) -> None:
    data = row[12]
    assert isinstance(data, bytes | memoryview)
    row[12] = unpack(bytes(data))


EXPORTS: dict[str, Export] = {
    "jobs": Export("SELECT name, variant, policy, expected_runs, settings, created_at,"
                   " updated_at, name FROM jobs WHERE TRUE", ("name",)),
    "payloads": Export("SELECT id, expected, deadline, created_at, updated_at, id FROM payloads"
                       " WHERE TRUE", ("id",)),
    "tokens": Export("SELECT hash, scope, label, created_at, expires_at, revoked_at, revoked_by,"
                     " last_used_at, hash FROM tokens WHERE TRUE", ("hash",)),
    "runs": Export(
        "SELECT j.name, r.run_id, r.payload, r.status, r.started_at, r.finished_at, r.url,"
        " r.variant, r.metadata, r.n_total, r.n_passed, r.n_failed, r.n_errors, r.n_skipped,"
        " r.n_flaked, r.pk, r.created_at, r.updated_at, r.pk"
        " FROM runs AS r JOIN jobs AS j ON j.id = r.job_id WHERE TRUE", ("r.pk",),
        files=(15, "SELECT run_pk, sha256, name, tests FROM files WHERE run_pk IN"
                   " (SELECT value FROM json_each(?)) ORDER BY run_pk, id")),
    "results": Export(
        "SELECT j.name, r.run_id, t.suite, t.name, x.status, x.duration_ms, m.message,"
        " CASE WHEN i.run_pk IS NULL THEN 0 ELSE 1 END, x.run_pk, x.test_id FROM results AS x "
        + _RUN.format(t="x") + " JOIN tests AS t ON t.id = x.test_id"
        " LEFT JOIN messages AS m ON m.run_pk = x.run_pk AND m.test_id = x.test_id"
        " LEFT JOIN informing AS i ON i.run_pk = x.run_pk AND i.test_id = x.test_id WHERE TRUE",
        ("x.run_pk", "x.test_id")),
    "baselines": Export(
        "SELECT j.name, b.version, b.created_at, b.runs, b.tests, b.window_days, b.max_runs,"
        " b.exclude_payload, b.latch, b.prior, b.note, b.runs_recorded, b.job_id, b.version"
        " FROM baselines AS b JOIN jobs AS j ON j.id = b.job_id WHERE TRUE",
        ("b.job_id", "b.version")),
    "baseline_tests": Export(
        "SELECT j.name, b.version, t.suite, t.name, b.runs, b.passes, b.failures, b.flakes,"
        " b.pass_rate, b.stddev, b.latched, b.observed_pass_rate, b.job_id, b.version,"
        " b.test_id FROM baseline_tests AS b JOIN jobs AS j ON j.id = b.job_id"
        " JOIN tests AS t ON t.id = b.test_id WHERE TRUE", ("b.job_id", "b.version", "b.test_id")),
    "baseline_runs": Export(
        "SELECT j.name, b.version, r.run_id, b.job_id, b.version, b.run_pk"
        " FROM baseline_runs AS b JOIN jobs AS j ON j.id = b.job_id"
        " JOIN runs AS r ON r.pk = b.run_pk WHERE TRUE", ("b.job_id", "b.version", "b.run_pk")),
    "audit": Export(
        "SELECT j.name, a.id, a.at, a.action, a.actor, a.reason, a.tests, a.version, a.field,"
        " a.old, a.new, a.id FROM audit AS a JOIN jobs AS j ON j.id = a.job_id WHERE TRUE",
        ("a.id",)),
    "crawl_records": Export(
        "SELECT source, build, state, attempts, reason, job, run_id, first_seen, updated_at,"
        " source, build FROM crawl_records WHERE TRUE", ("source", "build")),
    "logs": Export(
        "SELECT j.name, r.run_id, l.step, l.sha256, l.size, l.lines, l.received_bytes,"
        " l.omitted_bytes, l.omitted_lines, l.cut_lines, l.source, l.stored_at, l.data,"
        " l.run_pk, l.step FROM logs AS l " + _RUN.format(t="l") + " WHERE TRUE",
        ("l.run_pk", "l.step"), _unpack_log),
    "run_measures": Export(
        "SELECT j.name, r.run_id, m.release, m.from_release, m.platform, m.architecture,"
        " m.network, m.topology, m.master_nodes_updated, m.from_cluster_data,"
        " m.has_disruptions, m.has_alerts, m.run_pk, m.run_pk"
        " FROM run_measures AS m " + _RUN.format(t="m") + " WHERE TRUE", ("m.run_pk",),
        files=(12, "SELECT run_pk, sha256, name, kind FROM measure_files WHERE run_pk IN"
                   " (SELECT value FROM json_each(?)) ORDER BY run_pk, sha256")),
    "measurements": Export(
        "SELECT j.name, r.run_id, k.kind, k.name, k.namespace, k.level, m.seconds, m.run_pk,"
        " m.key_id FROM measurements AS m " + _RUN.format(t="m")
        + " JOIN measure_keys AS k ON k.id = m.key_id WHERE TRUE", ("m.run_pk", "m.key_id")),
    "disruption_baselines": Export(
        "SELECT kind, version, created_at, window_days, n_rows, actor, note, kind, version"
        " FROM disruption_baselines WHERE TRUE", ("kind", "version")),
    "disruption_baseline_rows": Export(
        "SELECT kind, version, name, namespace, level, release, from_release, platform,"
        " architecture, network, topology, master_nodes_updated, job_runs, p50, p75, p95, p99,"
        " mean, stddev, first_observed, last_observed, kind, version, name, namespace, level,"
        " release, from_release, platform, architecture, network, topology,"
        " master_nodes_updated FROM disruption_baseline_rows WHERE TRUE",
        ("kind", "version", "name", "namespace", "level", "release", "from_release",
         "platform", "architecture", "network", "topology", "master_nodes_updated")),
    "patterns": Export("SELECT id, version, author, created_at, retired_at, promoted, id"
                       " FROM patterns WHERE TRUE", ("id",)),
    "pattern_versions": Export(
        "SELECT pattern_id, version, expression, syntax, tags, steps, specificity,"
        " lines_from_end, description, created_at, actor, pattern_id, version"
        " FROM pattern_versions WHERE TRUE", ("pattern_id", "version")),
    "pattern_audit": Export(
        "SELECT pattern_id, seq, at, action, actor, reason, version, seq FROM pattern_audit"
        " WHERE TRUE", ("seq",)),
    "log_scans": Export(
        "SELECT j.name, r.run_id, s.step, s.pattern_id, s.version, s.pattern_id, s.run_pk,"
        " s.step FROM log_scans AS s " + _RUN.format(t="s") + " WHERE TRUE",
        ("s.pattern_id", "s.run_pk", "s.step")),
    # Matches have no key column: every column but the text is their key (a pattern version
    # matches a line at most once per start).
    "matches": Export(
        "SELECT j.name, r.run_id, m.step, m.pattern_id, m.version, m.line_number, m.start,"
        " m.\"end\", m.line_text, m.run_pk, m.step, m.pattern_id, m.version, m.line_number,"
        " m.start, m.\"end\" FROM matches AS m " + _RUN.format(t="m") + " WHERE TRUE",
        ("m.run_pk", "m.step", "m.pattern_id", "m.version", "m.line_number", "m.start",
         "m.\"end\"")),
    "scans": Export(
        "SELECT id, kind, state, pattern_id, pattern_version, job, since, logs_scanned,"
        " matches, error, actor, created_at, updated_at, id FROM scans WHERE TRUE", ("id",)),
    "breakages": Export(
        "SELECT id, cause, jobs, pattern_id, notes, started_at, created_by, resolved_at,"
        " resolution, resolved_by, id FROM breakages WHERE TRUE", ("id",)),
    "work": Export("SELECT id, kind, key, body, state, attempts, not_before, error, created_at,"
                   " updated_at, id FROM work WHERE TRUE", ("id",)),
    "github_publications": Export(
        "SELECT repository, target, digest, remote_id, updated_at, repository, target"
        " FROM github_publications WHERE TRUE", ("repository", "target")),
}


def export_rows(conn: sqlite3.Connection, table: str, after: str | None,
                limit: int) -> tuple[list[Row], str | None]:
    """One page of ``table`` (see :meth:`api.store.transfer.TransferStore.export_rows`)."""
    width = len(table_named(table).columns)
    spec = EXPORTS[table]
    sql, params = spec.select, []
    if after is not None:
        key = json.loads(after)
        if not isinstance(key, list) or len(key) != len(spec.keys):
            raise ValueError(f"malformed transfer cursor for {table}: {after!r}")
        marks = ", ".join("?" * len(key))
        sql += f" AND ({', '.join(spec.keys)}) > ({marks})"
        params = key
    sql += f" ORDER BY {', '.join(spec.keys)} LIMIT ?"
    found = conn.execute(sql, (*params, limit)).fetchall()
    if spec.fix is None and spec.files is None:
        rows: list[Row] = [tuple(raw[:width]) for raw in found]
    else:
        rows = []
        files = _files(conn, spec.files, found) if spec.files else {}
        for raw in found:
            values = list(raw[:width])
            if spec.files is not None:
                column = spec.files[0]
                values[column] = json.dumps(files.get(values[column], []),
                                            ensure_ascii=False, separators=(",", ":"))
            if spec.fix is not None:
                spec.fix(values)
            rows.append(tuple(values))
    after_last = json.dumps(list(found[-1][width:])) if len(found) == limit else None
    return rows, after_last


def _files(conn: sqlite3.Connection, spec: tuple[int, str], found: list[Any]
           ) -> dict[int, list[list[object]]]:
    """The page's runs' files, by run pk, in the query's order."""
    column, query = spec
    pks = [raw[column] for raw in found]
    out: dict[int, list[list[object]]] = {}
    for pk, *values in conn.execute(query, (json.dumps(pks),)):
        out.setdefault(pk, []).append(values)
    return out
