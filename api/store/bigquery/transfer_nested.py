"""db copy's logical tables that BigQuery keeps nested in other rows (see :mod:`.transfer`).

* ``logs``: a log's text is its zlib bytes in base64 ``log_chunks`` rows of the generation the
  ``logs`` row names; the export joins them back and unpacks, the import packs and chunks again.
* ``run_measures``: a run's measurement head is JSON on the run row (``runs.measures``, with
  its files as ``[name, sha256, kind]`` in upload order) and ``runs.mgen`` names the
  generation of its ``measurements`` rows.
* ``log_scans``: one row per (run, step) maps each applied pattern id to ``[version, gen]``;
  a logical row per pattern. ``matches`` rows count only under the gen their record names.

Cursors are JSON keys as in :mod:`.transfer_export`; ``log_scans`` pages by physical row and
may return fewer rows than asked before the end (never more), which the contract allows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from api.store.bigquery.client import Connection, Typed, strings
from api.store.bigquery.rows import new_id
from api.store.bigquery.transfer_export import after_clause
from api.store.codec import from_us
from api.store.errors import NotFound
from api.store.logs import CHUNK_BYTES, Packed, unpack
from api.store.measures import VARIANT_FIELDS
from api.store.transfer import Row

Page = tuple[list[Row], str | None]
_N = len(VARIANT_FIELDS)


def _page(conn: Connection, select: str, keys: tuple[str, ...], after: str | None,
          limit: int) -> tuple[list[tuple[Any, ...]], str | None]:
    """Physical rows of ``select`` (ending in ``WHERE ...``) after the key, keys last."""
    sql = f"SELECT {select}" if after is None else f"SELECT {select} AND {after_clause(keys)}"
    params: dict[str, Any] = {"n": limit}
    if after is not None:
        params.update({f"k{i}": value for i, value in enumerate(json.loads(after))})
    found = conn.rows(f"{sql} ORDER BY {', '.join(keys)} LIMIT @n", **params)
    following = json.dumps(list(found[-1][-len(keys):])) if len(found) == limit else None
    return found, following


def export_logs(conn: Connection, after: str | None, limit: int) -> Page:
    found, following = _page(
        conn, f"l.job, l.run_id, l.step, l.sha256, l.size, l.lines, l.received_bytes,"
        f" l.omitted_bytes, l.omitted_lines, l.cut_lines, l.source, UNIX_MICROS(l.stored_at),"
        f" l.gen, l.job, l.run_id, l.step FROM {conn.table('logs')} l JOIN {conn.table('runs')} r"
        " ON r.job = l.job AND r.run_id = l.run_id WHERE TRUE",
        ("l.job", "l.run_id", "l.step"), after, limit)
    chunks: dict[tuple[str, str, str, int], list[tuple[int, str]]] = {}
    if found:
        for job, run_id, step, gen, seq, data in conn.rows(
                f"SELECT job, run_id, step, gen, seq, data FROM {conn.table('log_chunks')}"
                " WHERE job IN UNNEST(@jobs) AND run_id IN UNNEST(@runs)"
                " AND gen IN UNNEST(@gens)", jobs=strings(sorted({r[0] for r in found})),
                runs=strings(sorted({r[1] for r in found})),
                gens=Typed("ARRAY<INT64>", sorted({int(r[12]) for r in found}))):
            chunks.setdefault((job, run_id, step, int(gen)), []).append((int(seq), data))
    rows = []
    for raw in found:
        parts = sorted(chunks.get((raw[0], raw[1], raw[2], int(raw[12])), []))
        text = unpack(b"".join(base64.b64decode(data) for _, data in parts))
        rows.append((*raw[:12], text))
    return rows, following


def export_run_measures(conn: Connection, after: str | None, limit: int) -> Page:
    found, following = _page(conn, f"job, run_id, measures, job, run_id"
                                    f" FROM {conn.table('runs')} WHERE measures IS NOT NULL",
                             ("job", "run_id"), after, limit)
    rows = []
    for job, run_id, measures, *_ in found:
        head = json.loads(measures)
        kinds = set(head.get("kinds", []))
        files = sorted([sha, name, kind] for name, sha, kind in head.get("files", []))
        rows.append((job, run_id, *head["variant"], int(bool(head.get("cluster_data"))),
                     int("disruptions" in kinds), int("alerts" in kinds),
                     json.dumps(files, ensure_ascii=False, separators=(",", ":"))))
    return rows, following


def export_measurements(conn: Connection, after: str | None, limit: int) -> Page:
    keys = ("m.job", "m.run_id", "m.kind", "m.name", "m.namespace", "m.level")
    found, following = _page(
        conn, f"m.job, m.run_id, m.kind, m.name, m.namespace, m.level, m.seconds,"
        f" {', '.join(keys)} FROM {conn.table('measurements')} m JOIN {conn.table('runs')} r"
        " ON r.job = m.job AND r.run_id = m.run_id AND r.mgen = m.gen WHERE TRUE",
        keys, after, limit)
    return [tuple(raw[:7]) for raw in found], following


def _records(conn: Connection, keys: set[tuple[str, str]]
             ) -> dict[tuple[str, str, str], tuple[dict[str, list[int]], int]]:
    """(job, run_id, step) -> (applied, stamp) of the scan records of these runs."""
    if not keys:
        return {}
    rows = conn.rows(f"SELECT job, run_id, step, applied, stamp FROM {conn.table('log_scans')}"
                     " WHERE job IN UNNEST(@jobs) AND run_id IN UNNEST(@runs)",
                     jobs=strings(sorted({k[0] for k in keys})),
                     runs=strings(sorted({k[1] for k in keys})))
    return {(j, r, s): (json.loads(a), int(stamp)) for j, r, s, a, stamp in rows
            if (j, r) in keys}


def export_log_scans(conn: Connection, after: str | None, limit: int) -> Page:
    # The cursor is the last logical row's (job, run_id, step, pattern_id); the physical page
    # starts at its (run, step) again, whose remaining patterns come first.
    start = None if after is None else json.loads(after)
    keys = ("job", "run_id", "step")
    sql = f"job, run_id, step, applied FROM {conn.table('log_scans')} WHERE TRUE"
    params: dict[str, Any] = {"n": limit}
    if start is not None:
        sql += (" AND (job > @k0 OR (job = @k0 AND run_id > @k1)"
                " OR (job = @k0 AND run_id = @k1 AND step >= @k2))")
        params.update(k0=start[0], k1=start[1], k2=start[2])
    found = conn.rows(f"SELECT {sql} ORDER BY {', '.join(keys)} LIMIT @n", **params)
    rows: list[Row] = []
    for job, run_id, step, applied in found:
        for pid, (version, _) in sorted(json.loads(applied).items(), key=lambda i: int(i[0])):
            row = (job, run_id, step, int(pid), int(version))
            if start is None or [*row[:4]] > start:
                rows.append(row)
    rows = rows[:limit]
    more = len(found) == limit or len(rows) == limit
    return rows, (json.dumps(list(rows[-1][:4])) if more and rows else
                  json.dumps([*found[-1][:3], 2**62]) if more else None)


def export_matches(conn: Connection, after: str | None, limit: int) -> Page:
    keys = ("job", "run_id", "step", "pattern_id", "version", "line_number", "span_start",
            "span_end", "gen")
    found, following = _page(conn, f"job, run_id, step, pattern_id, version, line_number,"
                                    f" span_start, span_end, line_text, {', '.join(keys)}"
                                    f" FROM {conn.table('matches')} WHERE TRUE",
                             keys, after, limit)
    records = _records(conn, {(r[0], r[1]) for r in found})
    rows = []
    for raw in found:
        current = records.get((raw[0], raw[1], raw[2]), ({}, 0))[0].get(str(raw[3]))
        if current is not None and int(current[1]) == int(raw[-1]):  # stale gens: not shown
            rows.append(tuple(raw[:9]))
    return rows, following


def _runs(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """(job, run_id) -> the run's ``mgen``; NotFound when a run is missing."""
    found = {(j, r): g for j, r, g in conn.rows(
        f"SELECT job, run_id, mgen FROM {conn.table('runs')}"
        " WHERE job IN UNNEST(@jobs) AND run_id IN UNNEST(@runs)",
        jobs=strings(sorted({k[0] for k in keys})), runs=strings(sorted({k[1] for k in keys})))}
    for job, run_id in sorted(keys - found.keys()):
        raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
    return found


def import_logs(conn: Connection, rows: Sequence[Row]) -> int:
    _runs(conn, {(row[0], row[1]) for row in rows})
    have = {tuple(r) for r in conn.rows(
        f"SELECT job, run_id, step FROM {conn.table('logs')}"
        " WHERE job IN UNNEST(@jobs) AND run_id IN UNNEST(@runs)",
        jobs=strings(sorted({r[0] for r in rows})), runs=strings(sorted({r[1] for r in rows})))}
    new = [row for row in rows if tuple(row[:3]) not in have]
    heads, chunks = [], []
    for row in new:
        data = Packed.of(row[12]).data
        gen = new_id()
        pieces = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
        chunks += [{"job": row[0], "run_id": row[1], "step": row[2], "gen": gen, "seq": seq,
                    "data": base64.b64encode(piece).decode("ascii")}
                   for seq, piece in enumerate(pieces)]
        heads.append({"job": row[0], "run_id": row[1], "step": row[2], "gen": gen,
                      "chunks": len(pieces), "sha256": row[3], "size": row[4],
                      "lines": row[5], "received_bytes": row[6], "omitted_bytes": row[7],
                      "omitted_lines": row[8], "cut_lines": row[9], "source": row[10],
                      "stored_at": from_us(row[11])})
    conn.append("log_chunks", chunks)  # before the heads that name them, as put_log does
    conn.append("logs", heads)
    return len(new)


def import_run_measures(conn: Connection, rows: Sequence[Row]) -> int:
    _runs(conn, {(row[0], row[1]) for row in rows})
    added = 0
    for row in rows:
        kinds = [kind for kind, flag in (("alerts", row[11]), ("disruptions", row[10]))
                 if flag]
        files = [[name, sha, kind] for sha, name, kind in json.loads(row[12])]
        head = json.dumps({"variant": list(row[2:2 + _N]), "cluster_data": bool(row[2 + _N]),
                           "kinds": sorted(kinds), "files": files, "prev": None},
                          separators=(",", ":"), ensure_ascii=False)
        # A run's head is set once: the copy's measurement generation comes with it.
        added += conn.execute(f"UPDATE {conn.table('runs')} SET measures = @head, mgen = @gen"
                              " WHERE job = @job AND run_id = @run AND measures IS NULL",
                              head=head, gen=new_id(), job=row[0], run=row[1])
    return added


def import_measurements(conn: Connection, rows: Sequence[Row]) -> int:
    gens = _runs(conn, {(row[0], row[1]) for row in rows})
    for (job, run_id), gen in gens.items():
        if gen is None:
            raise NotFound(f"run {run_id!r} of job {job!r} has no measurements head")
    have = {tuple(r) for r in conn.rows(
        f"SELECT job, run_id, kind, name, namespace, level FROM {conn.table('measurements')}"
        " WHERE job IN UNNEST(@jobs) AND gen IN UNNEST(@gens)",
        jobs=strings(sorted({r[0] for r in rows})),
        gens=Typed("ARRAY<INT64>", sorted({int(g) for g in gens.values()})))}
    new = [row for row in rows if tuple(row[:6]) not in have]
    conn.append("measurements", [
        {"job": row[0], "run_id": row[1], "gen": gens[row[0], row[1]], "kind": row[2],
         "name": row[3], "namespace": row[4], "level": row[5], "seconds": row[6]}
        for row in new])
    return len(new)


def import_log_scans(conn: Connection, rows: Sequence[Row]) -> int:
    _runs(conn, {(row[0], row[1]) for row in rows})
    records = _records(conn, {(row[0], row[1]) for row in rows})
    wanted: dict[tuple[str, str, str], dict[str, list[int]]] = {}
    added = 0
    for job, run_id, step, pid, version in rows:
        applied = wanted.setdefault((job, run_id, step),
                                    dict(records.get((job, run_id, step), ({}, 0))[0]))
        if str(pid) not in applied:
            applied[str(pid)] = [int(version), new_id()]  # matches come under this gen
            added += 1
    for key, applied in wanted.items():
        old = records.get(key)
        if old is not None and old[0] == applied:
            continue
        text = json.dumps(applied, sort_keys=True)
        if old is None:
            conn.append("log_scans", [{"job": key[0], "run_id": key[1], "step": key[2],
                                       "applied": text, "stamp": new_id()}])
        else:
            conn.execute(f"UPDATE {conn.table('log_scans')} SET applied = @applied,"
                         " stamp = @stamp WHERE job = @job AND run_id = @run AND step = @step",
                         applied=text, stamp=new_id(), job=key[0], run=key[1], step=key[2])
    return added


def import_matches(conn: Connection, rows: Sequence[Row]) -> int:
    records = _records(conn, {(row[0], row[1]) for row in rows})
    keyed = []
    for row in rows:
        current = records.get((row[0], row[1], row[2]), ({}, 0))[0].get(str(row[3]))
        if current is None:
            raise NotFound(f"no scan of pattern {row[3]} on {row[0]}/{row[1]}/{row[2]}")
        keyed.append((row, int(current[1])))
    have = {tuple(r) for r in conn.rows(
        f"SELECT job, run_id, step, pattern_id, version, line_number, span_start, span_end,"
        f" line_text, gen FROM {conn.table('matches')}"
        " WHERE job IN UNNEST(@jobs) AND gen IN UNNEST(@gens)",
        jobs=strings(sorted({r[0] for r in rows})),
        gens=Typed("ARRAY<INT64>", sorted({g for _, g in keyed})))}
    new = [(row, gen) for row, gen in keyed if (*row, gen) not in have]
    conn.append("matches", [
        {"job": row[0], "run_id": row[1], "step": row[2], "pattern_id": row[3],
         "version": row[4], "gen": gen, "line_number": row[5], "span_start": row[6],
         "span_end": row[7], "line_text": row[8]} for row, gen in new])
    return len(new)


NESTED: dict[str, tuple[Callable[[Connection, str | None, int], Page],
                        Callable[[Connection, Sequence[Row]], int]]] = {
    "logs": (export_logs, import_logs),
    "run_measures": (export_run_measures, import_run_measures),
    "measurements": (export_measurements, import_measurements),
    "log_scans": (export_log_scans, import_log_scans),
    "matches": (export_matches, import_matches),
}
