"""Patterns, matches and scans of the SQLite backend (the ``patterns`` part of SqliteStore).

Every write is one ``BEGIN IMMEDIATE`` transaction, so a pattern's new version and its audit
entry, or a log's matches and its scan record, are stored together or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from api.domain import Page, WriteOutcome
from api.failures.model import LineMatch, Match, Pattern, PatternSyntax
from api.store.base import NotFound
from api.store.codec import from_us, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.patterns import (
    LogScan,
    MatchCount,
    PatternAuditEntry,
    PatternCoverage,
    PatternDraft,
    PatternStore,
    ScanKind,
    ScanRecord,
    ScanState,
)
from api.store.patterns_rows import check_draft, check_scan
from api.store.rows import check_limit
from api.store.sqlite.db import Database

_PATTERN = ("p.id, v.version, v.expression, v.syntax, v.tags, v.steps, v.specificity,"
            " v.lines_from_end, v.description, p.author, p.created_at, p.retired_at,"
            " p.promoted")
_NEWEST = "FROM patterns p JOIN pattern_versions v ON v.pattern_id = p.id AND v.version = p.version"
_SCAN = ("id, kind, state, created_at, updated_at, actor, pattern_id, pattern_version, job,"
         " since, cursor, logs_scanned, matches, error")


def _time(value: int | None) -> datetime | None:
    return from_us(None if value is None else int(value))


def _pattern(row: tuple[Any, ...]) -> Pattern:
    (pid, version, expression, syntax, tags, steps, specificity, lines_from_end, description,
     author, created, retired, promoted) = row
    return Pattern(id=int(pid), version=int(version), expression=expression,
                   syntax=PatternSyntax(syntax), tags=tuple(json.loads(tags)),
                   steps=tuple(json.loads(steps)), specificity=int(specificity),
                   lines_from_end=lines_from_end, description=description, author=author,
                   created=_time(created), retired=_time(retired), promoted=bool(promoted))


def _scan(row: tuple[Any, ...]) -> ScanRecord:
    (sid, kind, state, created, updated, actor, pid, version, job, since, cursor, scanned,
     matches, error) = row
    created_at, updated_at = _time(created), _time(updated)
    assert created_at is not None and updated_at is not None
    return ScanRecord(id=int(sid), kind=ScanKind(kind), state=ScanState(state),
                      created_at=created_at, updated_at=updated_at, actor=actor,
                      pattern_id=pid, pattern_version=version, job=job, since=_time(since),
                      cursor=cursor, logs_scanned=int(scanned), matches=int(matches),
                      error=error)


def _newest(conn: sqlite3.Connection, pattern_id: int) -> Pattern:
    row = conn.execute(f"SELECT {_PATTERN} {_NEWEST} WHERE p.id = ?", (pattern_id,)).fetchone()
    if row is None:
        raise NotFound(f"no pattern {pattern_id}")
    return _pattern(row)


def _audit(conn: sqlite3.Connection, pattern: Pattern, action: str, actor: str,
           reason: str, at: int) -> None:
    conn.execute("INSERT INTO pattern_audit (pattern_id, at, action, actor, reason, version)"
                 " VALUES (?, ?, ?, ?, ?, ?)",
                 (pattern.id, at, action, actor, reason, pattern.version))


def _insert_version(conn: sqlite3.Connection, pattern_id: int, version: int,
                    draft: PatternDraft, actor: str, at: int) -> None:
    conn.execute(
        "INSERT INTO pattern_versions (pattern_id, version, expression, syntax, tags, steps,"
        " specificity, lines_from_end, description, created_at, actor)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (pattern_id, version, draft.expression, PatternSyntax(draft.syntax).value,
         json.dumps(list(draft.tags), ensure_ascii=False),
         json.dumps(list(draft.steps), ensure_ascii=False), draft.specificity,
         draft.lines_from_end, draft.description, at, actor))


def _versions(conn: sqlite3.Connection, pks: Sequence[int],
              pattern_ids: Sequence[int] | None) -> list[tuple[Any, ...]]:
    """Applied (run_pk, step, pattern id, version) rows of the runs, of some patterns only."""
    # log_scans is keyed (pattern_id, run_pk, step) (migration 0011): a key lookup per pattern
    # and run; "every pattern" means every stored one, the only ones a scan records.
    ids = ("SELECT id FROM patterns" if pattern_ids is None
           else "SELECT value FROM json_each(:ids)")
    return conn.execute(
        "SELECT run_pk, step, pattern_id, version FROM log_scans"
        f" WHERE pattern_id IN ({ids}) AND run_pk IN (SELECT value FROM json_each(:pks))",
        {"pks": json.dumps(list(pks)),
         "ids": json.dumps([int(i) for i in pattern_ids or ()])}).fetchall()


def _run_pks(conn: sqlite3.Connection, job: str, run_ids: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT run_id, pk FROM runs WHERE job_id = (SELECT id FROM jobs WHERE name = ?)"
        " AND run_id IN (SELECT value FROM json_each(?))", (job, json.dumps(list(run_ids))))
    return {str(run_id): int(pk) for run_id, pk in rows}


class SqlitePatterns(PatternStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- patterns ----------------------------------------------------------------------------

    def create_pattern(self, draft: PatternDraft, *, actor: str, reason: str = "") -> Pattern:
        check_draft(draft)
        at = now_us()
        with self._db.write() as tx:
            pid = int(tx.conn.execute(
                "INSERT INTO patterns (version, author, created_at) VALUES (1, ?, ?)"
                " RETURNING id", (actor, at)).fetchone()[0])
            _insert_version(tx.conn, pid, 1, draft, actor, at)
            made = _newest(tx.conn, pid)
            _audit(tx.conn, made, "create", actor, reason, at)
            return made

    def edit_pattern(self, pattern_id: int, draft: PatternDraft, *, actor: str,
                     reason: str = "") -> tuple[Pattern, WriteOutcome]:
        check_draft(draft)
        at = now_us()
        with self._db.write() as tx:
            before = _newest(tx.conn, pattern_id)
            if PatternDraft.of(before) == draft:
                tx.commit = False
                return before, WriteOutcome.UNCHANGED
            _insert_version(tx.conn, pattern_id, before.version + 1, draft, actor, at)
            tx.conn.execute("UPDATE patterns SET version = ? WHERE id = ?",
                            (before.version + 1, pattern_id))
            after = _newest(tx.conn, pattern_id)
            _audit(tx.conn, after, "edit", actor, reason, at)
            return after, WriteOutcome.UPDATED

    def promote_pattern(self, pattern_id: int, promoted: bool, *, actor: str,
                        reason: str = "") -> tuple[Pattern, WriteOutcome]:
        with self._db.write() as tx:
            before = _newest(tx.conn, pattern_id)
            if before.promoted == bool(promoted):
                tx.commit = False
                return before, WriteOutcome.UNCHANGED
            tx.conn.execute("UPDATE patterns SET promoted = ? WHERE id = ?",
                            (int(bool(promoted)), pattern_id))
            after = _newest(tx.conn, pattern_id)
            _audit(tx.conn, after, "promote" if promoted else "unpromote", actor, reason,
                   now_us())
            return after, WriteOutcome.UPDATED

    def retire_pattern(self, pattern_id: int, *, actor: str,
                       reason: str = "") -> tuple[Pattern, WriteOutcome]:
        at = now_us()
        with self._db.write() as tx:
            before = _newest(tx.conn, pattern_id)
            if before.retired is not None:
                tx.commit = False
                return before, WriteOutcome.UNCHANGED
            tx.conn.execute("UPDATE patterns SET retired_at = ? WHERE id = ?", (at, pattern_id))
            after = _newest(tx.conn, pattern_id)
            _audit(tx.conn, after, "retire", actor, reason, at)
            return after, WriteOutcome.UPDATED

    def get_pattern(self, pattern_id: int, version: int | None = None) -> Pattern | None:
        if version is None:
            row = self._db.conn.execute(f"SELECT {_PATTERN} {_NEWEST} WHERE p.id = ?",
                                        (pattern_id,)).fetchone()
        else:
            row = self._db.conn.execute(
                f"SELECT {_PATTERN} FROM patterns p JOIN pattern_versions v"
                " ON v.pattern_id = p.id WHERE p.id = ? AND v.version = ?",
                (pattern_id, version)).fetchone()
        return None if row is None else _pattern(row)

    def list_patterns(self, *, include_retired: bool = False, tag: str | None = None,
                      limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        after = decode_cursor(cursor, "patterns", (int,))[0] if cursor else 0
        rows = self._db.conn.execute(
            f"SELECT {_PATTERN} {_NEWEST} WHERE p.id > ?"
            " AND (? OR p.retired_at IS NULL)"
            " AND (? IS NULL OR EXISTS (SELECT 1 FROM json_each(v.tags) WHERE value = ?))"
            " ORDER BY p.id LIMIT ?",
            (after, int(include_retired), tag, tag, limit + 1)).fetchall()
        items = tuple(_pattern(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(items, encode_cursor("patterns", [items[-1].id]) if more else None)

    def patterns_by_ids(self, ids: Sequence[int]) -> dict[int, Pattern]:
        rows = self._db.conn.execute(
            f"SELECT {_PATTERN} {_NEWEST} WHERE p.id IN (SELECT value FROM json_each(?))",
            (json.dumps([int(i) for i in ids]),))
        return {int(row[0]): _pattern(row) for row in rows}

    def live_patterns(self) -> list[Pattern]:
        rows = self._db.conn.execute(
            f"SELECT {_PATTERN} {_NEWEST} WHERE p.retired_at IS NULL ORDER BY p.id")
        return [_pattern(row) for row in rows]

    def pattern_audit(self, pattern_id: int, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        before = decode_cursor(cursor, "pattern_audit", (int,))[0] if cursor else 2**62
        rows = self._db.conn.execute(
            "SELECT seq, pattern_id, action, actor, reason, version, at FROM pattern_audit"
            " WHERE pattern_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (pattern_id, before, limit + 1)).fetchall()
        items = tuple(PatternAuditEntry(pattern_id=int(pid), action=action, actor=actor,
                                        reason=reason, version=int(version),
                                        at=from_us(int(at)) or datetime.now(UTC))
                      for _, pid, action, actor, reason, version, at in rows[:limit])
        more = len(rows) > limit
        return Page(items, encode_cursor("pattern_audit", [rows[limit - 1][0]]) if more
                    else None)

    # -- matches -------------------------------------------------------------------------------

    def replace_matches(self, job: str, run_id: str, step: str,
                        pattern_versions_scanned: Mapping[int, int],
                        matches: Sequence[LineMatch]) -> None:
        scan = LogScan(job, run_id, step, dict(pattern_versions_scanned), tuple(matches))
        check_scan(scan)
        with self._db.write() as tx:
            if run_id not in _run_pks(tx.conn, job, [run_id]):
                raise NotFound(f"run {run_id!r} of job {job!r} does not exist")
            self._apply(tx.conn, [scan])

    def replace_matches_batch(self, scans: Sequence[LogScan]) -> None:
        for scan in scans:
            check_scan(scan)
        with self._db.write() as tx:
            self._apply(tx.conn, scans)

    @staticmethod
    def _apply(conn: sqlite3.Connection, scans: Sequence[LogScan]) -> None:
        """Apply many logs' scans with a handful of set-wise statements (a page of a backfill
        is one transaction of a few ``executemany``, not several statements per log)."""
        pks: dict[tuple[str, str], int] = {}
        for job in {scan.job for scan in scans}:
            for run_id, run_pk in _run_pks(conn, job, [s.run_id for s in scans
                                                       if s.job == job]).items():
                pks[(job, run_id)] = run_pk
        current = {(int(pk), str(step), int(pid)): int(version)
                   for pk, step, pid, version in _versions(
                       conn, sorted(set(pks.values())),
                       sorted({pid for scan in scans for pid in scan.versions}))}
        drop, rows, written = [], [], []
        for scan in scans:
            pk = pks.get((scan.job, scan.run_id))
            if pk is None:  # the run is gone
                continue
            taken, replaced = set(), set()
            for pid, version in scan.versions.items():
                # A version older than the one applied is ignored: a late scan never undoes
                # a newer one.
                applied = current.get((pk, scan.step, pid))
                if applied is None or applied <= version:
                    current[(pk, scan.step, pid)] = version
                    taken.add(pid)
                    written.append((pk, scan.step, pid, version))
                    if applied is not None:  # only an applied pattern can have matches
                        replaced.add(pid)
            if replaced:
                drop.append((pk, scan.step, json.dumps(sorted(replaced))))
            rows += [(pk, scan.step, m.pattern_id, m.pattern_version, m.line_number, m.start,
                      m.end, m.line_text) for m in scan.matches if m.pattern_id in taken]
        conn.executemany("DELETE FROM matches WHERE run_pk = ? AND step = ? AND pattern_id IN"
                         " (SELECT value FROM json_each(?))", drop)
        conn.executemany("INSERT INTO matches (run_pk, step, pattern_id, version, line_number,"
                         " start, end, line_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO log_scans (run_pk, step, pattern_id, version)"
                         " VALUES (?, ?, ?, ?) ON CONFLICT (run_pk, step, pattern_id)"
                         " DO UPDATE SET version = excluded.version", written)

    def applied_versions(self, job: str, keys: Sequence[tuple[str, str]],
                         pattern_ids: Sequence[int] | None = None
                         ) -> dict[tuple[str, str], dict[int, int]]:
        with self._db.read() as conn:
            pks = _run_pks(conn, job, sorted({run_id for run_id, _ in keys}))
            ids = {pk: run_id for run_id, pk in pks.items()}
            wanted = set(keys)
            out: dict[tuple[str, str], dict[int, int]] = {}
            for pk, step, pid, version in _versions(conn, list(ids), pattern_ids):
                key = (ids[int(pk)], str(step))
                if key in wanted:
                    out.setdefault(key, {})[int(pid)] = int(version)
            return out

    def run_matches(self, job: str, run_ids: Sequence[str]) -> dict[str, list[Match]]:
        with self._db.read() as conn:
            pks = _run_pks(conn, job, run_ids)
            ids = {pk: run_id for run_id, pk in pks.items()}
            out: dict[str, list[Match]] = {}
            for pk, step, pid, version, number, start, end, text in conn.execute(
                    "SELECT run_pk, step, pattern_id, version, line_number, start, end,"
                    " line_text FROM matches WHERE run_pk IN (SELECT value FROM json_each(?))"
                    " ORDER BY run_pk, step, line_number, start, pattern_id",
                    (json.dumps(list(ids)),)):
                run_id = ids[int(pk)]
                out.setdefault(run_id, []).append(Match(job, run_id, step, LineMatch(
                    int(pid), int(version), int(number), int(start), int(end), text)))
            return out

    def match_counts(self, *, since: datetime, job: str | None = None,
                     pattern_ids: Sequence[int] | None = None) -> list[MatchCount]:
        rows = self._db.conn.execute(
            "SELECT m.pattern_id, j.name,"
            " date(coalesce(r.started_at, r.created_at) / 1000000, 'unixepoch') AS day,"
            " count(DISTINCT m.run_pk), count(*)"
            " FROM matches m JOIN runs r ON r.pk = m.run_pk JOIN jobs j ON j.id = r.job_id"
            " WHERE coalesce(r.started_at, r.created_at) >= ? AND (? IS NULL OR j.name = ?)"
            " AND (? IS NULL OR m.pattern_id IN (SELECT value FROM json_each(?)))"
            " GROUP BY m.pattern_id, j.name, day ORDER BY day, j.name, m.pattern_id",
            (to_us(since), job, job, None if pattern_ids is None else 1,
             json.dumps([int(i) for i in pattern_ids or ()])))
        return [MatchCount(pattern_id=int(pid), job=str(name), day=str(day), runs=int(runs),
                           matches=int(lines)) for pid, name, day, runs, lines in rows]

    def pattern_coverage(self, pattern_id: int) -> PatternCoverage:
        row = self._db.conn.execute(
            "SELECT r.status, count(*), sum(EXISTS (SELECT 1 FROM matches m WHERE"
            " m.run_pk = s.run_pk AND m.step = s.step AND m.pattern_id = s.pattern_id))"
            " FROM log_scans s JOIN runs r ON r.pk = s.run_pk"
            " WHERE s.pattern_id = ? AND r.status IN ('failure', 'success') GROUP BY r.status",
            (int(pattern_id),)).fetchall()
        found = {status: (int(n), int(m or 0)) for status, n, m in row}
        failed, passed = found.get("failure", (0, 0)), found.get("success", (0, 0))
        return PatternCoverage(failed[0], failed[1], passed[0], passed[1])

    # -- scans ---------------------------------------------------------------------------------

    def add_scan(self, kind: ScanKind, *, actor: str, pattern_id: int | None = None,
                 pattern_version: int | None = None, job: str | None = None,
                 since: datetime | None = None) -> tuple[ScanRecord, WriteOutcome]:
        at = now_us()
        with self._db.write() as tx:
            if kind is ScanKind.BACKFILL:
                row = tx.conn.execute(f"SELECT {_SCAN} FROM scans WHERE pattern_id = ?"
                                      " AND pattern_version = ?",
                                      (pattern_id, pattern_version)).fetchone()
                if row is not None:
                    tx.commit = False
                    return _scan(row), WriteOutcome.UNCHANGED
            row = tx.conn.execute(
                "INSERT INTO scans (kind, state, pattern_id, pattern_version, job, since, actor,"
                f" created_at, updated_at) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?)"
                f" RETURNING {_SCAN}",
                (ScanKind(kind).value, pattern_id, pattern_version, job, to_us(since), actor,
                 at, at)).fetchone()
            return _scan(row), WriteOutcome.CREATED

    def get_scan(self, scan_id: int) -> ScanRecord | None:
        row = self._db.conn.execute(f"SELECT {_SCAN} FROM scans WHERE id = ?",
                                    (scan_id,)).fetchone()
        return None if row is None else _scan(row)

    def update_scan(self, scan_id: int, *, state: ScanState, cursor: str | None,
                    logs_scanned: int, matches: int, error: str | None = None) -> ScanRecord:
        with self._db.write() as tx:
            row = tx.conn.execute(
                "UPDATE scans SET state = ?, cursor = ?, logs_scanned = ?, matches = ?,"
                f" error = ?, updated_at = ? WHERE id = ? RETURNING {_SCAN}",
                (ScanState(state).value, cursor, logs_scanned, matches, error, now_us(),
                 scan_id)).fetchone()
            if row is None:
                raise NotFound(f"no scan {scan_id}")
            return _scan(row)

    def open_scans(self) -> list[ScanRecord]:
        rows = self._db.conn.execute(
            f"SELECT {_SCAN} FROM scans WHERE state IN ('queued', 'running') ORDER BY id")
        return [_scan(row) for row in rows]

