"""The disruption store part on SQLite (layout: ``migrations/0007_disruption.sql``)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from api.disruption.artifacts import ParsedArtifact
from api.disruption.model import (
    BaselineRow,
    MeasurementKey,
    MeasurementKind,
    RunMeasurements,
    Variant,
)
from api.domain import Page
from api.store.base import AttachedFile, NotFound
from api.store.batch import prepare_tests
from api.store.codec import from_us, to_us
from api.store.disruption import (
    ArtifactsWrite,
    BaselineFilter,
    DisruptionBaselineVersion,
    DisruptionStore,
    MeasurementColumns,
)
from api.store.measures import (
    ROW_ORDER,
    VARIANT_FIELDS,
    MeasureState,
    check_rows,
    decode_row_cursor,
    row_cursor,
    row_of,
    row_order_values,
)
from api.store.rows import check_limit
from api.store.sqlite.db import Database
from api.store.sqlite.rows import load_run, run_pk
from api.store.sqlite.runs import SqliteRuns

_VARIANT_COLS = ", ".join(VARIANT_FIELDS)
_ROW_COLS = (", ".join(ROW_ORDER) + ", job_runs, p50, p75, p95, p99, mean, stddev,"
             " first_observed, last_observed")
_EVIDENCE = "r.status IN ('success', 'failure')"
_WHEN = "coalesce(r.started_at, r.created_at)"
_KIND_FLAG = {MeasurementKind.DISRUPTIONS: "has_disruptions", MeasurementKind.ALERTS: "has_alerts"}


class SqliteDisruption(DisruptionStore):
    def __init__(self, db: Database, runs: SqliteRuns) -> None:
        self._db = db
        self._runs = runs

    # -- writes ------------------------------------------------------------------------------

    def put_artifacts(self, job: str, run_id: str, junit: Sequence[AttachedFile],
                      measurements: Sequence[ParsedArtifact],
                      derived: Variant | None = None) -> ArtifactsWrite:
        batches = [prepare_tests(f.tests) for f in junit]
        with self._db.write() as tx:
            conn = tx.conn
            pk = run_pk(conn, job, run_id)
            junit_added = self._runs.attach_in(tx, pk, junit, batches) if junit else ()
            junit_changed = any(junit_added)
            state = _state(conn, pk)
            added, new = state.add(measurements, derived)
            if new:
                _write_state(conn, pk, state, new)
            tx.commit = junit_changed or bool(new)
            return ArtifactsWrite(load_run(conn, job, pk), tuple(junit_added), added)

    # -- run reads ---------------------------------------------------------------------------

    def run_measurements(self, job: str,
                         run_ids: Sequence[str]) -> dict[str, RunMeasurements]:
        if not run_ids:
            return {}
        with self._db.read() as conn:
            # a run's head once, then its measurements as plain (run pk, key id, seconds): a
            # payload of 10 runs x 48 keys repeated the 10 head columns in every row
            heads = conn.execute(
                f"SELECT r.pk, r.run_id, r.payload, r.created_at, {_prefixed('v.')}"
                " FROM runs AS r JOIN run_measures AS v ON v.run_pk = r.pk"
                " WHERE r.job_id = (SELECT id FROM jobs WHERE name = ?)"
                " AND r.run_id IN (SELECT value FROM json_each(?))",
                (job, _json_list(run_ids))).fetchall()
            measured = conn.execute(
                "SELECT run_pk, key_id, seconds FROM measurements"
                " WHERE run_pk IN (SELECT value FROM json_each(?))",
                (_json_list([head[0] for head in heads]),)).fetchall() if heads else []
            keys = conn.execute(
                "SELECT id, kind, name, namespace, level FROM measure_keys"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (_json_list(sorted({key_id for _, key_id, _ in measured})),)
            ).fetchall() if measured else []
        return _group_runs(job, heads, measured, keys)

    def job_history_columns(self, job: str, kind: MeasurementKind, since: datetime,
                            until: datetime | None = None, *,
                            nonzero: bool = False) -> MeasurementColumns:
        window = {"job": job, "kind": kind.value, "since": to_us(since),
                  "until": _until(until)}
        runs_of_job = (
            " FROM runs AS r JOIN run_measures AS v ON v.run_pk = r.pk"
            " WHERE r.job_id = (SELECT id FROM jobs WHERE name = :job)"
            f" AND v.{_KIND_FLAG[kind]} AND {_EVIDENCE}"
            f" AND {_WHEN} >= :since AND {_WHEN} < :until")
        with self._db.read() as conn:
            runs = conn.execute(f"SELECT r.pk, r.run_id, {_prefixed('v.')}{runs_of_job}"
                                f" ORDER BY {_WHEN}, r.pk", window).fetchall()
            # (run pk, key id, seconds) flattened straight into numpy: a history of 150 runs x
            # 48 keys is 7,200 rows, and a tuple or a dict entry per row was most of a
            # verdict's disruption time.
            # runs first, then each run's measurements by primary key (CROSS JOIN fixes that
            # order: an IN list probing every (run, key of the kind) pair was three times slower)
            cursor = conn.execute(
                f"SELECT m.run_pk, m.key_id, m.seconds FROM (SELECT r.pk{runs_of_job}) AS x"
                " CROSS JOIN measurements AS m ON m.run_pk = x.pk"
                " JOIN measure_keys AS k ON k.id = m.key_id AND k.kind = :kind"
                + (" WHERE m.seconds > 0" if nonzero else ""), window)
            flat = np.fromiter(itertools.chain.from_iterable(cursor),
                               dtype=np.int64).reshape(-1, 3)
            if nonzero:
                # the keys measured only as zeros too: one more pass over the runs'
                # measurements in SQLite, returning a row per key, not per measurement
                keys = conn.execute(
                    "SELECT id, name, namespace, level FROM measure_keys WHERE kind = :kind"
                    f" AND id IN (SELECT m.key_id FROM (SELECT r.pk{runs_of_job}) AS x"
                    " CROSS JOIN measurements AS m ON m.run_pk = x.pk)", window).fetchall()
            else:
                key_ids = np.unique(flat[:, 1])
                keys = conn.execute(
                    "SELECT id, name, namespace, level FROM measure_keys"
                    " WHERE id IN (SELECT value FROM json_each(?))",
                    (_json_list([int(i) for i in key_ids]),)).fetchall() if key_ids.size else []
        return _columns(kind, runs, flat, keys, job)

    def measurement_columns(self, kind: MeasurementKind, since: datetime,
                            until: datetime | None = None) -> MeasurementColumns:
        window = {"since": to_us(since), "until": _until(until), "kind": kind.value}
        with self._db.read() as conn:
            # Runs first (a few per measurement), then the measurements of their pk range in
            # one plain range scan, flattened straight into numpy: no join and no tuple kept
            # per measurement (1,000,000 of them read in about a second); the rows of other
            # runs and kinds in that range are dropped in numpy.
            runs = conn.execute(
                f"SELECT r.pk, {_VARIANT_COLS} FROM runs AS r"
                " JOIN run_measures AS v ON v.run_pk = r.pk"
                f" WHERE v.{_KIND_FLAG[kind]} AND {_EVIDENCE}"
                f" AND {_WHEN} >= :since AND {_WHEN} < :until ORDER BY r.pk", window).fetchall()
            keys = conn.execute("SELECT id, name, namespace, level FROM measure_keys"
                                " WHERE kind = :kind ORDER BY id", window).fetchall()
            flat = np.zeros((0, 3), dtype=np.int64)
            if runs and keys:
                cursor = conn.execute(
                    "SELECT run_pk, key_id, seconds FROM measurements"
                    " WHERE run_pk BETWEEN ? AND ?", (runs[0][0], runs[-1][0]))
                flat = np.fromiter(itertools.chain.from_iterable(cursor),
                                   dtype=np.int64).reshape(-1, 3)
        variants: dict[tuple[str, ...], int] = {}
        run_variant = np.fromiter((variants.setdefault(tuple(row[1:]), len(variants))
                                   for row in runs), dtype=np.int32, count=len(runs))
        pks = np.fromiter((row[0] for row in runs), dtype=np.int64, count=len(runs))
        key_ids = np.fromiter((row[0] for row in keys), dtype=np.int64, count=len(keys))
        flat = flat[np.isin(flat[:, 0], pks) & np.isin(flat[:, 1], key_ids)]
        return MeasurementColumns(
            keys=tuple(MeasurementKey(kind, n, ns, lv) for _, n, ns, lv in keys),
            variants=tuple(Variant(*v) for v in variants),
            run_variant=run_variant,
            m_run=np.searchsorted(pks, flat[:, 0]).astype(np.int32),
            m_key=np.searchsorted(key_ids, flat[:, 1]).astype(np.int32),
            m_seconds=flat[:, 2].copy())

    # -- baseline versions -------------------------------------------------------------------

    def put_baseline_version(self, kind: MeasurementKind, rows: Sequence[BaselineRow], *,
                             window_days: int, created: datetime, actor: str = "",
                             note: str = "") -> int:
        check_rows(rows)
        values = [(kind.value, *row_order_values(row), row.job_runs, row.p50, row.p75,
                   row.p95, row.p99, row.mean, row.stddev, to_us(row.first_observed),
                   to_us(row.last_observed)) for row in rows]
        with self._db.write() as tx:
            (version,) = tx.conn.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM disruption_baselines WHERE kind = ?",
                (kind.value,)).fetchone()
            tx.conn.execute(
                "INSERT INTO disruption_baselines (kind, version, created_at, window_days,"
                " n_rows, actor, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind.value, version, to_us(created), window_days, len(rows), actor, note))
            marks = ", ".join("?" * (len(ROW_ORDER) + 10))
            tx.conn.executemany(
                f"INSERT INTO disruption_baseline_rows (kind, {_ROW_COLS}, version)"
                f" VALUES ({marks}, {int(version)})", values)
            return int(version)

    def baseline_version(self, kind: MeasurementKind,
                         version: int | None = None) -> DisruptionBaselineVersion | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT version, created_at, window_days, n_rows, actor, note"
                " FROM disruption_baselines WHERE kind = ? AND (? IS NULL OR version = ?)"
                " ORDER BY version DESC LIMIT 1", (kind.value, version, version)).fetchone()
        return None if row is None else _version_of(kind, row)

    def list_baseline_versions(self, kind: MeasurementKind) -> list[DisruptionBaselineVersion]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT version, created_at, window_days, n_rows, actor, note"
                " FROM disruption_baselines WHERE kind = ? ORDER BY version DESC",
                (kind.value,)).fetchall()
        return [_version_of(kind, row) for row in rows]

    def baseline_rows(self, kind: MeasurementKind, version: int | None, *,
                      where: BaselineFilter = BaselineFilter(),  # noqa: B008 (frozen)
                      limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        found = self.baseline_version(kind, version)
        if found is None:
            raise NotFound(f"no {kind.value} baseline" +
                           ("" if version is None else f" version {version}"))
        clauses = ["kind = ?", "version = ?"]
        params: list[Any] = [kind.value, found.version]
        for column, value in _filters(where):
            clauses.append(f"{column} = ?")
            params.append(value)
        if cursor is not None:
            after = decode_row_cursor(cursor, kind, found.version)
            clauses.append(f"({', '.join(ROW_ORDER)}) > ({', '.join('?' * len(ROW_ORDER))})")
            params += after
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_ROW_COLS} FROM disruption_baseline_rows"
                f" WHERE {' AND '.join(clauses)} ORDER BY {', '.join(ROW_ORDER)} LIMIT ?",
                (*params, limit + 1)).fetchall()
        items = tuple(_row(kind, row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(items, row_cursor(kind, found.version, items[-1]) if more else None)

    def all_baseline_rows(self, kind: MeasurementKind,
                          version: int | None = None) -> list[BaselineRow]:
        return self._rows(kind, version, "", ())

    def baseline_candidates(self, key_name: str, namespace: str, level: str,
                            kind: MeasurementKind,
                            version: int | None = None) -> list[BaselineRow]:
        return self._rows(kind, version, " AND name = ? AND namespace = ? AND level = ?",
                          (key_name, namespace, level))

    def _rows(self, kind: MeasurementKind, version: int | None, extra: str,
              params: tuple[str, ...]) -> list[BaselineRow]:
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_ROW_COLS} FROM disruption_baseline_rows"
                " WHERE kind = ? AND version = coalesce(?, (SELECT max(version)"
                f" FROM disruption_baselines WHERE kind = ?)){extra}"
                f" ORDER BY {', '.join(ROW_ORDER)}",
                (kind.value, version, kind.value, *params)).fetchall()
        return [_row(kind, row) for row in rows]


# -- helpers -----------------------------------------------------------------------------------

def _prefixed(prefix: str) -> str:
    return ", ".join(prefix + name for name in VARIANT_FIELDS)


def _json_list(values: Sequence[str] | Sequence[int]) -> str:
    import json

    return json.dumps(list(values))


def _until(until: datetime | None) -> int:
    return 2**63 - 1 if until is None else int(to_us(until) or 0)


def _filters(where: BaselineFilter) -> list[tuple[str, str]]:
    out = [(column, value) for column, value in (("name", where.name),
                                                 ("namespace", where.namespace),
                                                 ("level", where.level)) if value is not None]
    for name, value in where.variant.items():
        if name not in VARIANT_FIELDS:
            raise ValueError(f"unknown variant field {name!r}")
        out.append((name, value))
    return out


def _state(conn: sqlite3.Connection, pk: int) -> MeasureState:
    head = conn.execute(f"SELECT {_VARIANT_COLS}, from_cluster_data, has_disruptions,"
                        " has_alerts FROM run_measures WHERE run_pk = ?", (pk,)).fetchone()
    seen = {sha for (sha,) in conn.execute("SELECT sha256 FROM measure_files WHERE run_pk = ?",
                                           (pk,))}
    seconds = {MeasurementKey(MeasurementKind(kind), name, ns, level): int(value)
               for kind, name, ns, level, value in conn.execute(
                   "SELECT k.kind, k.name, k.namespace, k.level, m.seconds FROM measurements AS m"
                   " JOIN measure_keys AS k ON k.id = m.key_id WHERE m.run_pk = ?", (pk,))}
    if head is None:
        return MeasureState(None, False, set(), seconds, seen)
    n = len(VARIANT_FIELDS)
    kinds = {kind for kind, flag in ((MeasurementKind.DISRUPTIONS, head[n + 1]),
                                     (MeasurementKind.ALERTS, head[n + 2])) if flag}
    return MeasureState(Variant(*head[:n]), bool(head[n]), kinds, seconds, seen)


def _write_state(conn: sqlite3.Connection, pk: int, state: MeasureState,
                 new: Sequence[ParsedArtifact]) -> None:
    variant = state.variant or Variant()
    conn.execute(
        f"INSERT OR REPLACE INTO run_measures (run_pk, {_VARIANT_COLS}, from_cluster_data,"
        " has_disruptions, has_alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (pk, *(getattr(variant, name) for name in VARIANT_FIELDS), int(state.from_cluster_data),
         int(MeasurementKind.DISRUPTIONS in state.kinds),
         int(MeasurementKind.ALERTS in state.kinds)))
    keys = sorted(state.seconds)
    conn.executemany("INSERT INTO measure_keys (kind, name, namespace, level) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT DO NOTHING",
                     [(k.kind.value, k.name, k.namespace, k.level) for k in keys])
    conn.executemany(
        "INSERT INTO measurements (run_pk, key_id, seconds) SELECT ?, id, ? FROM measure_keys"
        " WHERE kind = ? AND name = ? AND namespace = ? AND level = ?"
        " ON CONFLICT (run_pk, key_id) DO UPDATE SET seconds = excluded.seconds",
        [(pk, state.seconds[k], k.kind.value, k.name, k.namespace, k.level) for k in keys])
    conn.executemany("INSERT INTO measure_files (run_pk, sha256, name, kind) VALUES (?, ?, ?, ?)",
                     [(pk, f.sha256, f.name, f.kind.value) for f in new])


def _group_runs(job: str, heads: list[tuple[Any, ...]], measured: list[tuple[Any, ...]],
                keys: list[tuple[Any, ...]]) -> dict[str, RunMeasurements]:
    """RunMeasurements from ``heads`` (pk, run_id, payload, created_at, *variant), their
    ``measured`` (run pk, key id, seconds) and the ``keys`` (id, kind, name, namespace, level)
    those name; in the order of ``heads``."""
    # One key object per distinct key: a payload of 10 runs x 48 keys builds 48 keys, not 480,
    # and the verdict's lookups by these keys (its history's keys are these same objects, see
    # summarise_columns) hit the identity fast path.
    key_of = {key_id: MeasurementKey(MeasurementKind(kind), name, ns, level)
              for key_id, kind, name, ns, level in keys}
    seconds: dict[int, dict[MeasurementKey, int]] = {head[0]: {} for head in heads}
    for pk, key_id, value in measured:
        seconds[pk][key_of[key_id]] = int(value)
    return {head[1]: RunMeasurements(job=job, run_id=head[1], variant=Variant(*head[4:]),
                                     seconds=seconds[head[0]], payload=head[2],
                                     created=_created(head[3]))
            for head in heads}


def _columns(kind: MeasurementKind, runs: list[tuple[Any, ...]], flat: np.ndarray,
             keys: list[tuple[Any, ...]], job: str) -> MeasurementColumns:
    """Columns from ``runs`` (pk, run_id, *variant; in column order), ``flat`` (run pk, key
    id, seconds) rows of those runs, and ``keys`` (id, name, namespace, level) they name."""
    ordered = sorted((MeasurementKey(kind, name, ns, level), key_id)
                     for key_id, name, ns, level in keys)
    key_ids = np.array([key_id for _, key_id in ordered], dtype=np.int64)
    pks = np.fromiter((row[0] for row in runs), dtype=np.int64, count=len(runs))
    by_pk = np.argsort(pks, kind="stable")
    by_key = np.argsort(key_ids, kind="stable")
    variants: dict[tuple[str, ...], int] = {}
    run_variant = np.fromiter((variants.setdefault(tuple(row[2:]), len(variants))
                               for row in runs), dtype=np.int32, count=len(runs))
    return MeasurementColumns(
        keys=tuple(key for key, _ in ordered),
        variants=tuple(Variant(*v) for v in variants),
        run_variant=run_variant,
        m_run=by_pk[np.searchsorted(pks, flat[:, 0], sorter=by_pk)].astype(np.int32),
        m_key=by_key[np.searchsorted(key_ids, flat[:, 1], sorter=by_key)].astype(np.int32),
        m_seconds=flat[:, 2].copy(),
        run_ids=tuple((job, row[1]) for row in runs))


def _created(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) or value is None else from_us(int(value))


def _version_of(kind: MeasurementKind, row: tuple[Any, ...]) -> DisruptionBaselineVersion:
    version, created, window_days, n_rows, actor, note = row
    at = from_us(created)
    assert at is not None
    return DisruptionBaselineVersion(kind, int(version), at, int(window_days), int(n_rows),
                                     actor, note)


def _row(kind: MeasurementKind, row: tuple[Any, ...]) -> BaselineRow:
    *head, first, last = row
    return row_of(kind, (*head, from_us(first), from_us(last)))

