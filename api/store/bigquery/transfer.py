"""The BigQuery backend's :class:`~api.store.transfer.TransferStore` (``flakegate db copy``).

Imports write through :meth:`Connection.append` (the Storage Write API: one committed stream
per table and batch, all rows visible at once or none; no load job). A batch first reads which
of its keys the target already shows and appends only the others, so a batch imported twice
changes nothing. The rows get this backend's own bookkeeping fresh: random stamps and tokens,
a new result generation per run (named on the run row, ``prev_gen`` empty), the run's day
from its ``created_at``, audit entries in force at once (no baseline token, no job stamp).

A run's results fingerprint (``tests_hash``, which makes an identical re-send "unchanged") is
set once the run's results are all imported; a run with attached files has none, as in
``attach_junit``. Progress rows live in the ``transfer_progress`` table, one per (copy, table),
replaced with a MERGE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from api.store.bigquery.client import Connection, Typed, strings
from api.store.bigquery.rows import EMPTY_FINGERPRINT, fingerprint, new_id
from api.store.bigquery.transfer_export import EXPORTS, export_rows
from api.store.bigquery.transfer_nested import NESTED
from api.store.codec import from_us
from api.store.errors import NotFound
from api.store.measures import ROW_ORDER, sort_key
from api.store.transfer import TABLES, Copying, Progress, Row, TransferStore, table_named

Importer = Callable[[Connection, Sequence[Row]], int]


def _t(value: int | None) -> datetime | None:
    return from_us(value)


def _keys(conn: Connection, table: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]],
          where: str = "TRUE", **params: Any) -> set[tuple[Any, ...]]:
    """Which of the keys (``columns``, the rows' first values) ``table`` already holds."""
    wanted = {tuple(row[:len(columns)]) for row in rows}
    first = sorted({key[0] for key in wanted})
    typed = strings(first) if isinstance(first[0], str) else Typed("ARRAY<INT64>", first)
    found = conn.rows(f"SELECT {', '.join(columns)} FROM {conn.table(table)}"
                      f" WHERE {columns[0]} IN UNNEST(@first) AND {where}", first=typed, **params)
    return {tuple(row) for row in found} & wanted


def _jobs_exist(conn: Connection, names: set[str]) -> None:
    found = {row[0] for row in conn.rows(f"SELECT name FROM {conn.table('jobs')}"
                                         " WHERE name IN UNNEST(@names)",
                                         names=strings(sorted(names)))}
    for name in sorted(names - found):
        raise NotFound(f"job {name!r} does not exist")


def _runs(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(job, run_id) -> (gen, run_day, files, n_total) of each run; NotFound if one is missing."""
    found = {(job, run_id): rest for job, run_id, *rest in conn.rows(
        f"SELECT job, run_id, gen, run_day, files, n_total FROM {conn.table('runs')}"
        " WHERE job IN UNNEST(@jobs) AND run_id IN UNNEST(@ids)",
        jobs=strings(sorted({k[0] for k in keys})), ids=strings(sorted({k[1] for k in keys})))}
    for job, run_id in sorted(keys - found.keys()):
        raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
    return {key: tuple(value) for key, value in found.items()}


def _plain(table: str, key: tuple[str, ...], convert: Callable[[Row], dict[str, Any]],
           parents: Callable[[Connection, Sequence[Row]], None] | None = None) -> Importer:
    """Rows stored one for one, known by their first ``len(key)`` logical values."""
    def run(conn: Connection, rows: Sequence[Row]) -> int:
        if parents is not None:
            parents(conn, rows)
        have = _keys(conn, table, key, rows)
        new = [row for row in rows if tuple(row[:len(key)]) not in have]
        conn.append(table, [convert(row) for row in new])
        return len(new)
    return run


def _named(table: str, extra: Callable[[Row], dict[str, Any]] | None = None,
           times: tuple[str, ...] = (), flags: tuple[str, ...] = (),
           rename: dict[str, str] | None = None) -> Callable[[Row], dict[str, Any]]:
    """A row as the physical table's columns: the logical ones (times as datetimes, 0/1 as
    booleans, ``rename``d where BigQuery's name differs), plus ``extra`` bookkeeping."""
    columns = table_named(table).columns

    def convert(row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in zip(columns, row, strict=True):
            if name in times:
                value = _t(value)
            elif name in flags:
                value = None if value is None else bool(value)
            out[(rename or {}).get(name, name)] = value
        if extra is not None:
            out.update(extra(row))
        return out
    return convert


def _job_parents(conn: Connection, rows: Sequence[Row]) -> None:
    _jobs_exist(conn, {str(row[0]) for row in rows})


_RUN = _named("runs", times=("started_at", "finished_at", "created_at", "updated_at"))


def _import_runs(conn: Connection, rows: Sequence[Row]) -> int:
    _job_parents(conn, rows)
    have = _keys(conn, "runs", ("job", "run_id"), rows)
    new = [row for row in rows if (row[0], row[1]) not in have]
    out = []
    for row in new:
        named = _RUN(row)
        files = json.loads(row[15])
        named["files"] = json.dumps([[name, sha, tests] for sha, name, tests in files],
                                    ensure_ascii=False)
        created = datetime.fromtimestamp(row[16] / 1e6, UTC)
        # No results yet: an empty run's fingerprint is final; others get theirs when their
        # results are all in (see _import_results).
        empty = not files and row[9] == 0
        named.update({"gen": new_id(), "prev_gen": None, "run_day": created.date(),
                      "tests_hash": EMPTY_FINGERPRINT if empty else None, "stamp": new_id()})
        out.append(named)
    conn.append("runs", out)
    return len(new)


def _import_results(conn: Connection, rows: Sequence[Row]) -> int:
    runs = _runs(conn, {(row[0], row[1]) for row in rows})
    gens = sorted({value[0] for value in runs.values()})
    have = _keys(conn, "results", ("job", "run_id", "suite", "name"), rows,
                 "gen IN UNNEST(@gens) AND run_day IN UNNEST(@days)",
                 gens=Typed("ARRAY<INT64>", gens),
                 days=Typed("ARRAY<DATE>", sorted({value[1] for value in runs.values()})))
    new = [row for row in rows if tuple(row[:4]) not in have]
    conn.append("results", [
        {"job": row[0], "run_id": row[1], "gen": runs[row[0], row[1]][0],
         "run_day": runs[row[0], row[1]][1], "suite": row[2], "name": row[3],
         "status": row[4], "duration_ms": row[5], "message": row[6],
         "informing": True if row[7] else None} for row in new])
    for key in dict.fromkeys((row[0], row[1]) for row in new):
        _fingerprint_when_complete(conn, key, runs[key])
    return len(new)


def _fingerprint_when_complete(conn: Connection, key: tuple[str, str],
                               run: tuple[Any, ...]) -> None:
    gen, day, files, n_total = run
    if json.loads(files):
        return
    entries = {(s, n): (int(st), d, m, bool(i)) for s, n, st, d, m, i in conn.rows(
        f"SELECT suite, name, status, duration_ms, message, informing"
        f" FROM {conn.table('results')} WHERE run_day = @day AND job = @job"
        " AND run_id = @run_id AND gen = @gen", day=day, job=key[0], run_id=key[1], gen=gen)}
    if len(entries) == n_total:
        conn.execute(f"UPDATE {conn.table('runs')} SET tests_hash = @hash WHERE job = @job"
                     " AND run_id = @run_id AND gen = @gen", hash=fingerprint(entries),
                     job=key[0], run_id=key[1], gen=gen)


def _tokens(conn: Connection, table: str, kind: str, keys: set[tuple[Any, Any]]
            ) -> dict[tuple[Any, Any], int]:
    """(job or kind, version) -> the header's token; NotFound if a version is missing."""
    column = "job" if kind == "job" else "kind"
    found = {(a, int(v)): int(t) for a, v, t in conn.rows(
        f"SELECT {column}, version, token FROM {conn.table(table)}"
        f" WHERE {column} IN UNNEST(@names)", names=strings(sorted({k[0] for k in keys})))}
    for name, version in sorted(keys - found.keys()):
        raise NotFound(f"{kind} {name!r} has no baseline version {version}")
    return found


def _under_token(table: str, header: str, kind: str, key: tuple[str, ...],
                 convert: Callable[[Row], dict[str, Any]],
                 check: Callable[[Connection, Sequence[Row]], None] | None = None) -> Importer:
    """Rows visible under their version header's token (baseline records and runs, disruption
    baseline rows), known by ``key``: the header's two columns then the row's own."""
    def run(conn: Connection, rows: Sequence[Row]) -> int:
        tokens = _tokens(conn, header, kind, {(row[0], row[1]) for row in rows})
        if check is not None:
            check(conn, rows)
        have = _keys(conn, table, key, rows, "token IN UNNEST(@tokens)",
                     tokens=Typed("ARRAY<INT64>", sorted(set(tokens.values()))))
        new = [row for row in rows if tuple(row[:len(key)]) not in have]
        conn.append(table, [{**convert(row), "token": tokens[row[0], row[1]]} for row in new])
        return len(new)
    return run


def _baseline_run_parents(conn: Connection, rows: Sequence[Row]) -> None:
    _runs(conn, {(row[0], row[2]) for row in rows})


def _disruption_row(row: Row) -> dict[str, Any]:
    named = _named("disruption_baseline_rows", times=("first_observed", "last_observed"))(row)
    named["sort_key"] = sort_key([named[name] for name in ROW_ORDER])
    return named


def _pattern_parents(conn: Connection, rows: Sequence[Row]) -> None:
    ids = {int(row[0]) for row in rows}
    found = {int(r[0]) for r in conn.rows(f"SELECT id FROM {conn.table('patterns')}"
                                          " WHERE id IN UNNEST(@ids)",
                                          ids=Typed("ARRAY<INT64>", sorted(ids)))}
    for ident in sorted(ids - found):
        raise NotFound(f"pattern {ident} does not exist")


def _with_token(_: Row) -> dict[str, Any]:
    return {"token": new_id()}


_BASELINE = _named("baselines", _with_token, times=("created_at",), flags=("latch",))


def _baseline(row: Row) -> dict[str, Any]:
    """A version header; ``runs_recorded`` is SQLite's (BigQuery always records the runs)."""
    named = _BASELINE(row)
    del named["runs_recorded"]
    return named


IMPORTS: dict[str, Importer] = {
    "jobs": _plain("jobs", ("name",), _named("jobs", lambda _: {"stamp": new_id()},
                                             times=("created_at", "updated_at"))),
    "payloads": _plain("payloads", ("id",), _named(
        "payloads", lambda _: {"stamp": new_id()},
        times=("deadline", "created_at", "updated_at"))),
    "tokens": _plain("tokens", ("hash",), _named(
        "tokens", lambda row: {"id": str(row[0])[:12]},
        times=("created_at", "expires_at", "revoked_at", "last_used_at"))),
    "runs": _import_runs,
    "results": _import_results,
    "baselines": _plain("baselines", ("job", "version"), _baseline, _job_parents),
    "baseline_tests": _under_token("baseline_tests", "baselines", "job",
                                   ("job", "version", "suite", "name"),
                                   _named("baseline_tests", flags=("latched",))),
    "baseline_runs": _under_token("baseline_runs", "baselines", "job",
                                  ("job", "version", "run_id"), _named("baseline_runs"),
                                  _baseline_run_parents),
    "audit": _plain("audit", ("job", "seq"), _named(
        "audit", lambda _: {"id": new_id(), "baseline_token": None, "job_stamp": None},
        times=("at",), rename={"at": "at_time"}), _job_parents),
    "crawl_records": _plain("crawl_records", ("source", "build"), _named(
        "crawl_records", times=("first_seen", "updated_at"))),
    "disruption_baselines": _plain("disruption_baselines", ("kind", "version"), _named(
        "disruption_baselines", _with_token, times=("created_at",))),
    "disruption_baseline_rows": _under_token(
        "disruption_baseline_rows", "disruption_baselines", "kind",
        ("kind", "version", "name", "namespace", "level", "release", "from_release", "platform",
         "architecture", "network", "topology", "master_nodes_updated"), _disruption_row),
    "patterns": _plain("patterns", ("id",), _named(
        "patterns", times=("created_at", "retired_at"), flags=("promoted",))),
    "pattern_versions": _plain("pattern_versions", ("pattern_id", "version"), _named(
        "pattern_versions", times=("created_at",)), _pattern_parents),
    "pattern_audit": _plain("pattern_audit", ("pattern_id", "seq"), _named(
        "pattern_audit", times=("at",), rename={"at": "at_time"}), _pattern_parents),
    "scans": _plain("scans", ("id",), _named(
        "scans", lambda _: {"cursor": None}, times=("since", "created_at", "updated_at"))),
    "breakages": _plain("breakages", ("id",), _named(
        "breakages", _with_token, times=("started_at", "resolved_at"))),
    "work": _plain("work", ("id",), _named(
        "work", lambda _: {"holder": None, "lease_until": None},
        times=("not_before", "created_at", "updated_at"))),
    "github_publications": _plain("github_publications", ("repository", "target"), _named(
        "github_publications", times=("updated_at",))),
}
IMPORTS.update({name: importer for name, (_, importer) in NESTED.items()})
assert IMPORTS.keys() == EXPORTS.keys() | NESTED.keys() == {t.name for t in TABLES}


class BigQueryTransfer(TransferStore):
    """:class:`TransferStore` on the store's :class:`Connection`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def export_rows(self, table: str, after: str | None, limit: int) -> tuple[list[Row],
                                                                              str | None]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if table in NESTED:
            table_named(table)
            return NESTED[table][0](self._conn, after, limit)
        return export_rows(self._conn, table, after, limit)

    def import_rows(self, table: str, rows: Sequence[Row]) -> int:
        table_named(table)
        if not rows:
            return 0
        with self._conn.lock:  # this process's writers wait; see the module docstring
            return IMPORTS[table](self._conn, rows)

    def load_progress(self) -> Copying | None:
        c = self._conn
        rows = c.rows(f"SELECT copy_id, source, tbl, after_cursor, n_rows, done"
                      f" FROM {c.table('transfer_progress')} ORDER BY tbl")
        if not rows:
            return None
        return Copying(rows[0][0], rows[0][1], {
            tbl: Progress(tbl, after, int(n), bool(done)) for _, _, tbl, after, n, done in rows})

    def save_progress(self, copy_id: str, source: str, progress: Progress) -> None:
        c = self._conn
        with c.lock:
            c.execute(
                f"MERGE {c.table('transfer_progress')} T USING (SELECT @copy AS copy_id,"
                " @tbl AS tbl) S ON T.copy_id = S.copy_id AND T.tbl = S.tbl"
                " WHEN MATCHED THEN UPDATE SET after_cursor = @after, n_rows = @rows,"
                " done = @done WHEN NOT MATCHED THEN INSERT (copy_id, source, tbl,"
                " after_cursor, n_rows, done)"
                " VALUES (@copy, @source, @tbl, @after, @rows, @done)",
                copy=copy_id, source=source, tbl=progress.table,
                after=Typed("STRING", progress.after), rows=progress.rows, done=progress.done)
