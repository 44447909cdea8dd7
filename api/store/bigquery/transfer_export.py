"""The BigQuery backend's export of logical tables (see :mod:`api.store.transfer`).

Each table is one keyset-paged query over what the store's own reads show, and nothing else:
results of the run's current generation only, baseline records and memberships under their
header's token, audit entries once in force (the same conditions as ``list_audit``). Times are
read as ``UNIX_MICROS``, flags as 0/1; bookkeeping that is this backend's own (stamps,
generations, tokens, a scan's cursor, a work item's claim) is never selected.

The tables BigQuery keeps nested in other rows (logs, measurements, scan records, matches)
are read by :mod:`.transfer_nested`. BigQuery has no row-value comparison, so a page after
the key ``(a, b)`` is written ``a > @k0 OR (a = @k0 AND b > @k1)``; every key column is
REQUIRED (never NULL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from api.store.bigquery.client import Connection
from api.store.transfer import Row, table_named


def _us(column: str) -> str:
    return f"UNIX_MICROS({column})"


def _flag(column: str) -> str:
    return f"IF({column}, 1, 0)"


@dataclass(frozen=True, slots=True)
class Export:
    source: str  # "FROM ... WHERE <visible>" with {name} placeholders for qualified tables
    columns: tuple[str, ...]  # one SQL expression per logical column
    keys: tuple[str, ...]
    fix: Callable[[list[object]], None] | None = None  # adjusts a row's values in place


def _run_files(row: list[object]) -> None:
    """BigQuery keeps a run's files as [name, sha256, tests]; the logical order is sha256,
    name, tests (see :data:`api.store.transfer.TABLES`)."""
    text = row[15]
    assert isinstance(text, str)
    row[15] = json.dumps([[sha, name, tests] for name, sha, tests in json.loads(text)],
                         ensure_ascii=False, separators=(",", ":"))


_RUN_COLUMNS = ("r.job", "r.run_id", "r.payload", "r.status", _us("r.started_at"),
                _us("r.finished_at"), "r.url", "r.variant", "r.metadata", "r.n_total",
                "r.n_passed", "r.n_failed", "r.n_errors", "r.n_skipped", "r.n_flaked",
                "r.files", _us("r.created_at"), _us("r.updated_at"))

EXPORTS: dict[str, Export] = {
    "jobs": Export("FROM {jobs} WHERE TRUE",
                   ("name", "variant", "policy", "expected_runs", "settings", _us("created_at"),
                    _us("updated_at")), ("name",)),
    "payloads": Export("FROM {payloads} WHERE TRUE",
                       ("id", "expected", _us("deadline"), _us("created_at"),
                        _us("updated_at")), ("id",)),
    "tokens": Export("FROM {tokens} WHERE TRUE",
                     ("hash", "scope", "label", _us("created_at"), _us("expires_at"),
                      _us("revoked_at"), "revoked_by", _us("last_used_at")), ("hash",)),
    "runs": Export("FROM {runs} r WHERE TRUE", _RUN_COLUMNS, ("r.job", "r.run_id"),
                   _run_files),
    "results": Export(
        "FROM {results} x JOIN {runs} r ON r.job = x.job AND r.run_id = x.run_id"
        " AND r.gen = x.gen AND r.run_day = x.run_day WHERE TRUE",
        ("x.job", "x.run_id", "x.suite", "x.name", "x.status", "x.duration_ms", "x.message",
         _flag("x.informing")), ("x.job", "x.run_id", "x.suite", "x.name")),
    # runs_recorded: BigQuery records a version's runs with it, always (SQLite's NULL marks
    # versions made before membership was recorded): 1 when the version has any.
    "baselines": Export(
        "FROM {baselines} b WHERE TRUE",
        ("b.job", "b.version", _us("b.created_at"), "b.runs", "b.tests", "b.window_days",
         "b.max_runs", "b.exclude_payload", _flag("b.latch"), "b.prior", "b.note",
         "IF(EXISTS(SELECT 1 FROM {baseline_runs} m WHERE m.job = b.job"
         " AND m.version = b.version AND m.token = b.token), 1, NULL)"), ("b.job", "b.version")),
    "baseline_tests": Export(
        "FROM {baseline_tests} t JOIN {baselines} h ON h.job = t.job AND h.version = t.version"
        " AND h.token = t.token WHERE TRUE",
        ("t.job", "t.version", "t.suite", "t.name", "t.runs", "t.passes", "t.failures",
         "t.flakes", "t.pass_rate", "t.stddev", _flag("t.latched"), "t.observed_pass_rate"),
        ("t.job", "t.version", "t.suite", "t.name")),
    "baseline_runs": Export(
        "FROM {baseline_runs} t JOIN {baselines} h ON h.job = t.job AND h.version = t.version"
        " AND h.token = t.token WHERE TRUE", ("t.job", "t.version", "t.run_id"),
        ("t.job", "t.version", "t.run_id")),
    # seq is this backend's audit clock (strictly increasing microseconds): the log's order,
    # carried as the logical seq (a SQLite source's ids come back as that backend's seq).
    "audit": Export(
        "FROM {audit} a LEFT JOIN {baselines} h ON h.job = a.job AND h.token = a.baseline_token"
        " LEFT JOIN {jobs} j ON j.name = a.job"
        " WHERE (a.baseline_token IS NULL OR h.token IS NOT NULL)"
        " AND (a.job_stamp IS NULL OR a.job_stamp = j.stamp)",
        ("a.job", "a.seq", _us("a.at_time"), "a.action", "a.actor", "a.reason", "a.tests",
         "a.version", "a.field", "a.old", "a.new"), ("a.job", "a.seq", "a.id")),
    "crawl_records": Export(
        "FROM {crawl_records} WHERE TRUE",
        ("source", "build", "state", "attempts", "reason", "job", "run_id", _us("first_seen"),
         _us("updated_at")), ("source", "build")),
    "disruption_baselines": Export(
        "FROM {disruption_baselines} WHERE TRUE",
        ("kind", "version", _us("created_at"), "window_days", "n_rows", "actor", "note"),
        ("kind", "version")),
    "disruption_baseline_rows": Export(
        "FROM {disruption_baseline_rows} r JOIN {disruption_baselines} h ON h.kind = r.kind"
        " AND h.version = r.version AND h.token = r.token WHERE TRUE",
        ("r.kind", "r.version", "r.name", "r.namespace", "r.level", "r.release",
         "r.from_release", "r.platform", "r.architecture", "r.network", "r.topology",
         "r.master_nodes_updated", "r.job_runs", "r.p50", "r.p75", "r.p95", "r.p99", "r.mean",
         "r.stddev", _us("r.first_observed"), _us("r.last_observed")),
        ("r.kind", "r.version", "r.sort_key")),
    "patterns": Export("FROM {patterns} WHERE TRUE",
                       ("id", "version", "author", _us("created_at"), _us("retired_at"),
                        _flag("promoted")), ("id",)),
    "pattern_versions": Export(
        "FROM {pattern_versions} WHERE TRUE",
        ("pattern_id", "version", "expression", "syntax", "tags", "steps", "specificity",
         "lines_from_end", "description", _us("created_at"), "actor"), ("pattern_id", "version")),
    "pattern_audit": Export(
        "FROM {pattern_audit} WHERE TRUE",
        ("pattern_id", "seq", _us("at_time"), "action", "actor", "reason", "version"),
        ("seq", "pattern_id")),
    "scans": Export(
        "FROM {scans} WHERE TRUE",
        ("id", "kind", "state", "pattern_id", "pattern_version", "job", _us("since"),
         "logs_scanned", "matches", "error", "actor", _us("created_at"), _us("updated_at")),
        ("id",)),
    "breakages": Export(
        "FROM {breakages} WHERE TRUE",
        ("id", "cause", "jobs", "pattern_id", "notes", _us("started_at"), "created_by",
         _us("resolved_at"), "resolution", "resolved_by"), ("id", "token")),
    "work": Export(
        "FROM {work} WHERE TRUE",
        ("id", "kind", "key", "body", "state", "attempts", _us("not_before"), "error",
         _us("created_at"), _us("updated_at")), ("id",)),
    "github_publications": Export(
        "FROM {github_publications} WHERE TRUE",
        ("repository", "target", "digest", "remote_id", _us("updated_at")),
        ("repository", "target")),
}


def after_clause(keys: tuple[str, ...]) -> str:
    """``keys > (@k0, @k1, ...)`` in lexicographic order, spelled out."""
    terms = []
    for i, key in enumerate(keys):
        equal = [f"{k} = @k{j}" for j, k in enumerate(keys[:i])]
        terms.append("(" + " AND ".join([*equal, f"{key} > @k{i}"]) + ")")
    return "(" + " OR ".join(terms) + ")"


def export_rows(conn: Connection, table: str, after: str | None,
                limit: int) -> tuple[list[Row], str | None]:
    """One page of ``table`` (see :meth:`api.store.transfer.TransferStore.export_rows`)."""
    width = len(table_named(table).columns)
    spec = EXPORTS[table]
    names = {name: conn.table(name) for name in
             ("jobs", "payloads", "tokens", "runs", "results", "baselines", "baseline_tests",
              "baseline_runs", "audit", "crawl_records", "disruption_baselines",
              "disruption_baseline_rows", "patterns", "pattern_versions", "pattern_audit",
              "scans", "breakages", "work", "github_publications")}
    sql = f"SELECT {', '.join(spec.columns)}, {', '.join(spec.keys)} {spec.source}".format(
        **names)
    params: dict[str, object] = {"n": limit}
    if after is not None:
        key = json.loads(after)
        if not isinstance(key, list) or len(key) != len(spec.keys):
            raise ValueError(f"malformed transfer cursor for {table}: {after!r}")
        sql += " AND " + after_clause(spec.keys)
        params.update({f"k{i}": value for i, value in enumerate(key)})
    sql += f" ORDER BY {', '.join(spec.keys)} LIMIT @n"
    found = conn.rows(sql, **params)
    rows: list[Row] = []
    for raw in found:
        values = list(raw[:width])
        if spec.fix is not None:
            spec.fix(values)
        rows.append(tuple(values))
    after_last = json.dumps(list(found[-1][width:])) if len(found) == limit else None
    return rows, after_last
