"""The disruption store part on BigQuery.

A run's measurements are rows of ``measurements`` under a *generation*, like its test results:
an upload loads the run's new sums as a new generation, then the run's one compare-and-set
MERGE (:meth:`BigQueryRuns._write_run`) flips both its JUnit generation and ``runs.mgen`` /
``runs.measures`` (variant, kinds, files as JSON). So JUnit results and measurements of one
upload become visible together or not at all; a lost race deletes the unreferenced rows.

Baseline versions follow the test baselines: rows are loaded under a random token, then the
header's MERGE (inserting only while the version number is free) is the commit point; readers
join rows to the header by token, so rows of a lost race are never seen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
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
from api.domain import Page, RunSpec, RunStatus
from api.store.base import AttachedFile, NotFound, StoreUnavailable
from api.store.batch import merge_entries, new_attachments, prepare_tests
from api.store.bigquery.client import Conflict, Connection, Typed, retrying, strings
from api.store.bigquery.rows import RunRow, new_id
from api.store.bigquery.runs import BigQueryRuns
from api.store.codec import to_us
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
    sort_key,
)
from api.store.rows import check_limit

_EVIDENCE = "u.status IN ('success', 'failure')"
_WHEN = "COALESCE(u.started_at, u.created_at)"
_ROW_COLS = (", ".join(ROW_ORDER) + ", job_runs, p50, p75, p95, p99, mean, stddev,"
             " first_observed, last_observed")
_FAR = datetime(9999, 12, 31, tzinfo=UTC)


def _measures_json(state: MeasureState, files: list[list[str]], prev: int | None) -> str:
    variant = state.variant or Variant()
    return json.dumps({"variant": [getattr(variant, n) for n in VARIANT_FIELDS],
                       "cluster_data": state.from_cluster_data,
                       "kinds": sorted(k.value for k in state.kinds), "files": files,
                       "prev": prev}, separators=(",", ":"), ensure_ascii=False)


def _head(measures: str | None) -> dict[str, Any]:
    return {} if measures is None else json.loads(measures)


class BigQueryDisruption(DisruptionStore):
    def __init__(self, conn: Connection, runs: BigQueryRuns) -> None:
        self._conn = conn
        self._runs = runs

    # -- writes ------------------------------------------------------------------------------

    def _state(self, row: RunRow) -> MeasureState:
        head = _head(row.measures)
        seen = {sha for _, sha, _ in head.get("files", [])}
        seconds: dict[MeasurementKey, int] = {}
        if row.mgen is not None:
            c = self._conn
            for kind, name, ns, level, value in c.rows(
                    f"SELECT kind, name, namespace, level, seconds FROM {c.table('measurements')}"
                    " WHERE job = @job AND run_id = @run_id AND gen = @gen",
                    job=row.job, run_id=row.run_id, gen=row.mgen):
                seconds[MeasurementKey(MeasurementKind(kind), name, ns, level)] = int(value)
        variant = Variant(*head["variant"]) if head else None
        kinds = {MeasurementKind(k) for k in head.get("kinds", [])}
        return MeasureState(variant, bool(head.get("cluster_data")), kinds, seconds, seen)

    def _drop(self, job: str, run_id: str, gen: int | None) -> None:
        if gen is None:
            return
        c = self._conn
        c.execute(f"DELETE FROM {c.table('measurements')} WHERE job = @job AND run_id = @run_id"
                  " AND gen = @gen", job=job, run_id=run_id, gen=gen)

    def put_artifacts(self, job: str, run_id: str, junit: Sequence[AttachedFile],
                      measurements: Sequence[ParsedArtifact],
                      derived: Variant | None = None) -> ArtifactsWrite:
        batches = [prepare_tests(f.tests) for f in junit]
        runs, c = self._runs, self._conn

        def attempt() -> ArtifactsWrite | None:
            old = runs._run_row(job, run_id)
            if old is None:
                raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
            stored = json.loads(old.files)
            added, new_files, incoming = new_attachments(junit, batches,
                                                         {sha for _, sha, _ in stored})
            state = self._state(old)
            m_added, new = state.add(measurements, derived)
            if not new_files and not new:
                return ArtifactsWrite(old.run(), added, m_added)
            entries = None
            files, tests_hash = stored, old.tests_hash
            if new_files:
                entries = runs._entries(old) if old.n_total else {}
                merge_entries(entries, incoming)
                files = stored + [[f.name, f.sha256, f.tests] for f in new_files]
                tests_hash = None
            measures = None
            if new:
                gen = new_id()
                head = _head(old.measures)
                listed = head.get("files", []) + [[f.name, f.sha256, f.kind.value] for f in new]
                c.append("measurements", (
                    {"job": job, "run_id": run_id, "gen": gen, "kind": k.kind.value,
                     "name": k.name, "namespace": k.namespace, "level": k.level, "seconds": v}
                    for k, v in state.seconds.items()))
                measures = (gen, _measures_json(state, listed, old.mgen))
            spec = RunSpec(job=job, run_id=run_id, status=RunStatus(old.status))
            run = runs._write_run(spec, old.spec_columns(), old, entries, files, tests_hash,
                                  measures)
            if run is None:
                if measures is not None:
                    self._drop(job, run_id, measures[0])
                return None
            if measures is not None:
                # Keep the generation just replaced for readers mid-read; drop the one before.
                self._drop(job, run_id, _head(old.measures).get("prev"))
            return ArtifactsWrite(run, added, m_added)

        return retrying(c, attempt)

    # -- run reads ---------------------------------------------------------------------------

    def _runs_with_rows(self, where: str, kind: MeasurementKind | None,
                        **params: Any) -> list[tuple[Any, ...]]:
        """(run_id, payload, created_at, measures, kind, name, namespace, level, seconds) for
        the runs ``where`` selects (alias ``u``), one query; runs with no row appear once."""
        c = self._conn
        kind_clause = "" if kind is None else " AND m.kind = @kind"
        if kind is not None:
            params["kind"] = kind.value
        return c.rows(
            f"SELECT u.run_id, u.payload, u.created_at, u.measures, m.kind, m.name,"
            f" m.namespace, m.level, m.seconds FROM {c.table('runs')} u"
            f" LEFT JOIN {c.table('measurements')} m ON m.job = u.job AND m.run_id = u.run_id"
            f" AND m.gen = u.mgen{kind_clause}"
            f" WHERE u.mgen IS NOT NULL AND {where}"
            f" ORDER BY {_WHEN}, u.run_id", **params)

    def run_measurements(self, job: str,
                         run_ids: Sequence[str]) -> dict[str, RunMeasurements]:
        if not run_ids:
            return {}
        rows = self._runs_with_rows("u.job = @job AND u.run_id IN UNNEST(@ids)", None,
                                    job=job, ids=strings(list(run_ids)))
        return _group(job, rows)

    def job_history_columns(self, job: str, kind: MeasurementKind, since: datetime,
                            until: datetime | None = None, *,
                            nonzero: bool = False) -> MeasurementColumns:
        rows = self._runs_with_rows(
            f"u.job = @job AND {_EVIDENCE} AND {_WHEN} >= @since AND {_WHEN} < @until", kind,
            job=job, since=since, until=until or _FAR)
        runs: dict[str, int] = {}
        variants: dict[tuple[str, ...], int] = {}
        run_variant: list[int] = []
        measured: list[tuple[int, MeasurementKey, int]] = []
        for run_id, _, _, measures, m_kind, name, ns, level, seconds in rows:
            at = runs.get(run_id)
            if at is None:
                head = _head(measures)
                if kind.value not in head.get("kinds", []):
                    continue
                at = runs[run_id] = len(run_variant)
                run_variant.append(variants.setdefault(tuple(head["variant"]), len(variants)))
            if m_kind is not None:
                measured.append((at, MeasurementKey(kind, name, ns, level), int(seconds)))
        keys = sorted({key for _, key, _ in measured})
        if nonzero:  # after the keys: a key measured only as zeros stays one
            measured = [m for m in measured if m[2]]
        column = {key: i for i, key in enumerate(keys)}
        return MeasurementColumns(
            keys=tuple(keys), variants=tuple(Variant(*v) for v in variants),
            run_variant=np.array(run_variant, dtype=np.int32),
            m_run=np.array([at for at, _, _ in measured], dtype=np.int32),
            m_key=np.array([column[key] for _, key, _ in measured], dtype=np.int32),
            m_seconds=np.array([s for _, _, s in measured], dtype=np.int64),
            run_ids=tuple((job, run_id) for run_id in runs))

    def measurement_columns(self, kind: MeasurementKind, since: datetime,
                            until: datetime | None = None) -> MeasurementColumns:
        c = self._conn
        window = {"since": since, "until": until or _FAR}
        runs = c.rows(f"SELECT u.job, u.run_id, u.measures FROM {c.table('runs')} u"
                      f" WHERE u.mgen IS NOT NULL AND {_EVIDENCE} AND {_WHEN} >= @since"
                      f" AND {_WHEN} < @until ORDER BY u.job, u.run_id", **window)
        index: dict[tuple[str, str], int] = {}
        variants: dict[tuple[str, ...], int] = {}
        run_variant: list[int] = []
        for job, run_id, measures in runs:
            head = _head(measures)
            if kind.value not in head.get("kinds", []):
                continue
            index[(job, run_id)] = len(run_variant)
            run_variant.append(variants.setdefault(tuple(head["variant"]), len(variants)))
        measured = c.rows(
            f"SELECT m.job, m.run_id, m.name, m.namespace, m.level, m.seconds"
            f" FROM {c.table('measurements')} m JOIN {c.table('runs')} u"
            " ON u.job = m.job AND u.run_id = m.run_id AND u.mgen = m.gen"
            f" WHERE m.kind = @kind AND {_EVIDENCE} AND {_WHEN} >= @since AND {_WHEN} < @until",
            kind=kind.value, **window)
        keys: dict[tuple[str, str, str], int] = {}
        m_run, m_key, m_seconds = [], [], []
        for job, run_id, name, ns, level, seconds in measured:
            at = index.get((job, run_id))
            if at is None:
                continue
            m_run.append(at)
            m_key.append(keys.setdefault((name, ns, level), len(keys)))
            m_seconds.append(int(seconds))
        return MeasurementColumns(
            keys=tuple(MeasurementKey(kind, *k) for k in keys),
            variants=tuple(Variant(*v) for v in variants),
            run_variant=np.array(run_variant, dtype=np.int32),
            m_run=np.array(m_run, dtype=np.int32), m_key=np.array(m_key, dtype=np.int32),
            m_seconds=np.array(m_seconds, dtype=np.int64))

    # -- baseline versions -------------------------------------------------------------------

    def put_baseline_version(self, kind: MeasurementKind, rows: Sequence[BaselineRow], *,
                             window_days: int, created: datetime, actor: str = "",
                             note: str = "") -> int:
        check_rows(rows)
        to_us(created)
        c = self._conn
        for _ in range(8):
            with c.lock:
                latest = c.rows(f"SELECT COALESCE(MAX(version), 0)"
                                f" FROM {c.table('disruption_baselines')} WHERE kind = @kind",
                                kind=kind.value)[0][0]
                version, token = int(latest) + 1, new_id()
                c.append("disruption_baseline_rows", (_row_json(kind, version, token, row)
                                                    for row in rows))
                try:
                    won = c.execute(
                        f"MERGE {c.table('disruption_baselines')} T USING (SELECT @kind AS kind,"
                        " @v AS version) S ON T.kind = S.kind AND T.version = S.version"
                        " WHEN NOT MATCHED THEN INSERT (kind, version, token, created_at,"
                        " window_days, n_rows, actor, note) VALUES (@kind, @v, @token,"
                        " @created, @days, @n, @actor, @note)", kind=kind.value, v=version,
                        token=token, created=created, days=window_days, n=len(rows),
                        actor=actor, note=note)
                except Conflict:
                    won = 0
                if won == 1:
                    return version
                c.execute(f"DELETE FROM {c.table('disruption_baseline_rows')} WHERE kind = @kind"
                          " AND version = @v AND token = @token", kind=kind.value, v=version,
                          token=token)
        raise StoreUnavailable(f"could not allocate a {kind.value} baseline version; retry")

    def _versions(self, kind: MeasurementKind, version: int | None,
                  limit: int | None) -> list[DisruptionBaselineVersion]:
        c = self._conn
        rows = c.rows(
            f"SELECT version, created_at, window_days, n_rows, actor, note"
            f" FROM {c.table('disruption_baselines')} WHERE kind = @kind"
            " AND (@v IS NULL OR version = @v) ORDER BY version DESC"
            + ("" if limit is None else f" LIMIT {int(limit)}"),
            kind=kind.value, v=Typed("INT64", version))
        return [DisruptionBaselineVersion(kind, int(v), at, int(days), int(n), actor, note)
                for v, at, days, n, actor, note in rows]

    def baseline_version(self, kind: MeasurementKind,
                         version: int | None = None) -> DisruptionBaselineVersion | None:
        found = self._versions(kind, version, 1)
        return found[0] if found else None

    def list_baseline_versions(self, kind: MeasurementKind) -> list[DisruptionBaselineVersion]:
        return self._versions(kind, None, None)

    def _select_rows(self, kind: MeasurementKind, version: int, extra: str,
                     limit: int | None, **params: Any) -> list[BaselineRow]:
        c = self._conn
        rows = c.rows(
            f"SELECT {', '.join('r.' + col for col in _ROW_COLS.split(', '))}"
            f" FROM {c.table('disruption_baseline_rows')} r"
            f" JOIN {c.table('disruption_baselines')} h ON h.kind = r.kind"
            " AND h.version = r.version AND h.token = r.token"
            f" WHERE r.kind = @kind AND r.version = @v{extra} ORDER BY r.sort_key"
            + ("" if limit is None else f" LIMIT {int(limit)}"),
            kind=kind.value, v=version, **params)
        return [row_of(kind, row) for row in rows]

    def baseline_rows(self, kind: MeasurementKind, version: int | None, *,
                      where: BaselineFilter = BaselineFilter(),  # noqa: B008 (frozen)
                      limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        found = self.baseline_version(kind, version)
        if found is None:
            raise NotFound(f"no {kind.value} baseline" +
                           ("" if version is None else f" version {version}"))
        extra, params = "", {}
        for i, (column, value) in enumerate(_filters(where)):
            extra += f" AND r.{column} = @f{i}"
            params[f"f{i}"] = value
        if cursor is not None:
            extra += " AND r.sort_key > @after"
            params["after"] = sort_key(decode_row_cursor(cursor, kind, found.version))
        rows = self._select_rows(kind, found.version, extra, limit + 1, **params)
        items = tuple(rows[:limit])
        more = len(rows) > limit
        return Page(items, row_cursor(kind, found.version, items[-1]) if more else None)

    def all_baseline_rows(self, kind: MeasurementKind,
                          version: int | None = None) -> list[BaselineRow]:
        found = self.baseline_version(kind, version)
        return [] if found is None else self._select_rows(kind, found.version, "", None)

    def baseline_candidates(self, key_name: str, namespace: str, level: str,
                            kind: MeasurementKind,
                            version: int | None = None) -> list[BaselineRow]:
        found = self.baseline_version(kind, version)
        if found is None:
            return []
        return self._select_rows(kind, found.version, " AND r.name = @name AND"
                                 " r.namespace = @ns AND r.level = @level", None,
                                 name=key_name, ns=namespace, level=level)


def _filters(where: BaselineFilter) -> list[tuple[str, str]]:
    out = [(column, value) for column, value in (("name", where.name),
                                                 ("namespace", where.namespace),
                                                 ("level", where.level)) if value is not None]
    for name, value in where.variant.items():
        if name not in VARIANT_FIELDS:
            raise ValueError(f"unknown variant field {name!r}")
        out.append((name, value))
    return out


def _row_json(kind: MeasurementKind, version: int, token: int,
              row: BaselineRow) -> dict[str, Any]:
    values = row_order_values(row)
    return {"kind": kind.value, "version": version, "token": token, "sort_key": sort_key(values),
            **dict(zip(ROW_ORDER, values, strict=True)), "job_runs": row.job_runs,
            "p50": row.p50, "p75": row.p75, "p95": row.p95, "p99": row.p99, "mean": row.mean,
            "stddev": row.stddev, "first_observed": row.first_observed,
            "last_observed": row.last_observed}


def _group(job: str, rows: list[tuple[Any, ...]]) -> dict[str, RunMeasurements]:
    heads: dict[str, tuple[Any, ...]] = {}
    seconds: dict[str, dict[MeasurementKey, int]] = {}
    for run_id, payload, created, measures, m_kind, name, ns, level, value in rows:
        if run_id not in heads:
            heads[run_id] = (payload, created, _head(measures))
            seconds[run_id] = {}
        if m_kind is not None:
            seconds[run_id][MeasurementKey(MeasurementKind(m_kind), name, ns, level)] = int(value)
    out = {}
    for run_id, (payload, created, head) in heads.items():
        out[run_id] = RunMeasurements(job=job, run_id=run_id, variant=Variant(*head["variant"]),
                                      seconds=seconds[run_id], payload=payload, created=created)
    return out

