"""Matches and log scan records of the BigQuery backend (used by :mod:`.patterns`).

A log's scan record (``log_scans``: one row per job, run, step) maps each applied pattern id
to ``[version, gen]``; the ``matches`` rows of a pattern carry the ``gen`` of the scan that
found them. A scan loads its rows under a new gen first, then flips the record with one
compare-and-set MERGE, then deletes the superseded gens: readers only count rows whose gen the
record names, so they see a log's matches wholly before or wholly after a scan (BigQuery has no
multi-statement transactions; this is the runs table's generation scheme again).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from api.failures.model import LineMatch, Match
from api.store.base import NotFound
from api.store.bigquery.client import Connection, Typed, ints, retrying, strings
from api.store.bigquery.rows import new_id
from api.store.patterns import LogScan, MatchCount, PatternCoverage
from api.store.patterns_rows import check_scan, merge_applied

_MATCH = "run_id, step, pattern_id, version, gen, line_number, span_start, span_end, line_text"


def _gens(applied: str) -> dict[int, tuple[int, int]]:
    return {int(k): (int(v[0]), int(v[1])) for k, v in json.loads(applied).items()}


class BigQueryMatches:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _records(self, job: str | None, run_ids: Sequence[str] | None
                 ) -> dict[tuple[str, str, str], dict[int, tuple[int, int]]]:
        """Scan records by (job, run_id, step); all of them when ``run_ids`` is None."""
        c = self._conn
        rows = c.rows(f"SELECT job, run_id, step, applied FROM {c.table('log_scans')}"
                      " WHERE (@job IS NULL OR job = @job)"
                      " AND (@all OR run_id IN UNNEST(@runs))",
                      job=Typed("STRING", job), all=run_ids is None,
                      runs=strings(list(run_ids or ())))
        return {(str(j), str(r), str(s)): _gens(a) for j, r, s, a in rows}

    def replace(self, scan: LogScan, *, must_exist: bool) -> None:
        check_scan(scan)
        c = self._conn

        def attempt() -> bool | None:
            if not c.rows(f"SELECT 1 FROM {c.table('runs')} WHERE job = @job"
                          " AND run_id = @run", job=scan.job, run=scan.run_id):
                if must_exist:
                    raise NotFound(f"run {scan.run_id!r} of job {scan.job!r} does not exist")
                return True
            found = c.rows(f"SELECT applied, stamp FROM {c.table('log_scans')} WHERE"
                           " job = @job AND run_id = @run AND step = @step",
                           job=scan.job, run=scan.run_id, step=scan.step)
            old = _gens(found[0][0]) if found else {}
            merged, taken = merge_applied({str(k): v[0] for k, v in old.items()},
                                          scan.versions)
            if not taken:
                return True
            gen = new_id()
            record = {pid: [version, old[int(pid)][1] if int(pid) in old else 0]
                      for pid, version in merged.items()}
            for pid in taken:
                record[str(pid)] = [int(scan.versions[pid]), gen]
            c.append("matches", ({"job": scan.job, "run_id": scan.run_id, "step": scan.step,
                                "pattern_id": m.pattern_id, "version": m.pattern_version,
                                "gen": gen, "line_number": m.line_number,
                                "span_start": m.start, "span_end": m.end,
                                "line_text": m.line_text}
                               for m in scan.matches if m.pattern_id in taken))
            flipped = c.execute(
                f"MERGE {c.table('log_scans')} T USING (SELECT @job AS job, @run AS run_id,"
                " @step AS step) S ON T.job = S.job AND T.run_id = S.run_id AND T.step = S.step"
                " WHEN MATCHED AND T.stamp = @old THEN UPDATE SET applied = @applied,"
                " stamp = @stamp WHEN NOT MATCHED AND @old IS NULL THEN INSERT"
                " (job, run_id, step, applied, stamp) VALUES (@job, @run, @step, @applied,"
                " @stamp)", job=scan.job, run=scan.run_id, step=scan.step,
                old=Typed("INT64", found[0][1] if found else None),
                applied=json.dumps(record, sort_keys=True), stamp=new_id()) == 1
            # The losing attempt's rows, or the winner's superseded ones: never read again.
            c.execute(f"DELETE FROM {c.table('matches')} WHERE job = @job AND run_id = @run"
                      " AND step = @step AND pattern_id IN UNNEST(@taken)"
                      f" AND gen {'!=' if flipped else '='} @gen", job=scan.job,
                      run=scan.run_id, step=scan.step, taken=ints(taken), gen=gen)
            return True if flipped else None

        retrying(c, attempt)

    def applied_versions(self, job: str, keys: Sequence[tuple[str, str]]
                         ) -> dict[tuple[str, str], dict[int, int]]:
        wanted = set(keys)
        records = self._records(job, sorted({run_id for run_id, _ in keys}))
        return {(r, s): {pid: v for pid, (v, _) in gens.items()}
                for (_, r, s), gens in records.items() if (r, s) in wanted}

    def _current(self, rows: Iterable[tuple[Any, ...]],
                 records: dict[tuple[str, str, str], dict[int, tuple[int, int]]],
                 job_of: Any) -> Iterable[tuple[Any, ...]]:
        for row in rows:
            job = job_of(row)
            run_id, step, pid, gen = row[0], row[1], int(row[2]), int(row[4])
            current = records.get((job, run_id, step), {}).get(pid)
            if current is not None and current[1] == gen:
                yield row

    def run_matches(self, job: str, run_ids: Sequence[str]) -> dict[str, list[Match]]:
        if not run_ids:
            return {}
        c = self._conn
        records = self._records(job, list(run_ids))
        rows = c.rows(f"SELECT {_MATCH} FROM {c.table('matches')} WHERE job = @job"
                      " AND run_id IN UNNEST(@runs)", job=job, runs=strings(list(run_ids)))
        current = sorted(self._current(rows, records, lambda _row: job),
                         key=lambda r: (r[0], r[1], r[5], r[6], r[2]))
        out: dict[str, list[Match]] = {}
        for run_id, step, pid, version, _, number, start, end, text in current:
            out.setdefault(run_id, []).append(Match(job, run_id, step, LineMatch(
                int(pid), int(version), int(number), int(start), int(end), text)))
        return out

    def match_counts(self, *, since: datetime, job: str | None,
                     pattern_ids: Sequence[int] | None) -> list[MatchCount]:
        c = self._conn
        rows = c.rows(
            f"SELECT m.run_id, m.step, m.pattern_id, m.version, m.gen, m.job,"
            " FORMAT_DATE('%Y-%m-%d', DATE(COALESCE(r.started_at, r.created_at)))"
            f" FROM {c.table('matches')} m JOIN {c.table('runs')} r"
            " ON r.job = m.job AND r.run_id = m.run_id"
            " WHERE COALESCE(r.started_at, r.created_at) >= @since"
            " AND (@job IS NULL OR m.job = @job)"
            " AND (@all OR m.pattern_id IN UNNEST(@ids))",
            since=Typed("TIMESTAMP", since), job=Typed("STRING", job),
            all=pattern_ids is None, ids=ints([int(i) for i in pattern_ids or ()]))
        records = self._records(job, sorted({str(row[0]) for row in rows}))
        lines: dict[tuple[str, str, int], int] = {}
        runs: dict[tuple[str, str, int], set[str]] = {}
        for row in self._current(rows, records, lambda r: r[5]):
            key = (str(row[6]), str(row[5]), int(row[2]))
            lines[key] = lines.get(key, 0) + 1
            runs.setdefault(key, set()).add(str(row[0]))
        return [MatchCount(pattern_id=pid, job=name, day=day, runs=len(runs[(day, name, pid)]),
                           matches=n) for (day, name, pid), n in sorted(lines.items())]

    def coverage(self, pattern_id: int) -> PatternCoverage:
        c = self._conn
        status = {(str(j), str(r)): str(s) for j, r, s in c.rows(
            f"SELECT job, run_id, status FROM {c.table('runs')}"
            " WHERE status IN ('failure', 'success')")}
        matched = {(str(j), str(r), str(s), int(g)) for j, r, s, g in c.rows(
            f"SELECT DISTINCT job, run_id, step, gen FROM {c.table('matches')}"
            " WHERE pattern_id = @pid", pid=pattern_id)}
        counts = {"failure": [0, 0], "success": [0, 0]}
        for (job, run_id, step), gens in self._records(None, None).items():
            state = status.get((job, run_id))
            if state is None or pattern_id not in gens:
                continue
            counts[state][0] += 1
            counts[state][1] += (job, run_id, step, gens[pattern_id][1]) in matched
        return PatternCoverage(counts["failure"][0], counts["failure"][1],
                               counts["success"][0], counts["success"][1])
