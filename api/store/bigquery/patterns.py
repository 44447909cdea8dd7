"""Patterns, their audit log and scans in the BigQuery backend (the ``patterns`` part).

No multi-statement transactions: each write is ordered so that a crash between its statements
leaves nothing visible half-done. A pattern's ``patterns`` row names its newest version and
readers join on it, so a version row is invisible until the row is flipped to it by a
compare-and-set; the audit entry is written before the flip (never an unaudited change, at
worst an audited one that did not land, as the per-job audit log does for deletes). Ids are
the next integer, claimed by a MERGE that inserts only when the id is still free.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from api.domain import Page, WriteOutcome
from api.failures.model import LineMatch, Match, Pattern, PatternSyntax
from api.store.base import NotFound
from api.store.bigquery.client import Connection, Typed, ints, retrying
from api.store.bigquery.matches import BigQueryMatches
from api.store.bigquery.rows import now_us, ts
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
from api.store.patterns_rows import check_draft
from api.store.rows import check_limit

_PATTERN = ("p.id, v.version, v.expression, v.syntax, v.tags, v.steps, v.specificity,"
            " v.lines_from_end, v.description, p.author, p.created_at, p.retired_at,"
            " p.promoted")
_SCAN = ("id, kind, state, created_at, updated_at, actor, pattern_id, pattern_version, job,"
         " since, cursor, logs_scanned, matches, error")


def _pattern(row: tuple[Any, ...]) -> Pattern:
    (pid, version, expression, syntax, tags, steps, specificity, lines_from_end, description,
     author, created, retired, promoted) = row
    return Pattern(id=int(pid), version=int(version), expression=expression,
                   syntax=PatternSyntax(syntax), tags=tuple(json.loads(tags)),
                   steps=tuple(json.loads(steps)), specificity=int(specificity),
                   lines_from_end=None if lines_from_end is None else int(lines_from_end),
                   description=description, author=author, created=created, retired=retired,
                   promoted=bool(promoted))


def _scan(row: tuple[Any, ...]) -> ScanRecord:
    (sid, kind, state, created, updated, actor, pid, version, job, since, cursor, scanned,
     matches, error) = row
    return ScanRecord(id=int(sid), kind=ScanKind(kind), state=ScanState(state),
                      created_at=created, updated_at=updated, actor=actor,
                      pattern_id=None if pid is None else int(pid),
                      pattern_version=None if version is None else int(version), job=job,
                      since=since, cursor=cursor, logs_scanned=int(scanned),
                      matches=int(matches), error=error)


class BigQueryPatterns(PatternStore):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._matches = BigQueryMatches(conn)

    # -- patterns ----------------------------------------------------------------------------

    def _select(self, where: str, version: str = "p.version", **params: Any) -> list[Pattern]:
        c = self._conn
        rows = c.rows(f"SELECT {_PATTERN} FROM {c.table('patterns')} p JOIN"
                      f" {c.table('pattern_versions')} v ON v.pattern_id = p.id"
                      f" AND v.version = {version} WHERE {where} ORDER BY p.id", **params)
        return [_pattern(row) for row in rows]

    def _newest(self, pattern_id: int) -> Pattern:
        found = self._select("p.id = @id", id=pattern_id)
        if not found:
            raise NotFound(f"no pattern {pattern_id}")
        return found[0]

    def _audit(self, pattern_id: int, version: int, action: str, actor: str,
               reason: str) -> None:
        c = self._conn
        seq = now_us()
        c.execute(f"INSERT INTO {c.table('pattern_audit')} (pattern_id, seq, at_time, action,"
                  " actor, reason, version) VALUES (@pid, @seq, @at, @action, @actor, @reason,"
                  " @v)",
                  pid=pattern_id, seq=seq, at=ts(seq), action=action, actor=actor,
                  reason=reason, v=version)

    def _insert_version(self, pattern_id: int, version: int, draft: PatternDraft,
                        actor: str) -> bool:
        c = self._conn
        return c.execute(
            f"MERGE {c.table('pattern_versions')} T USING (SELECT @pid AS pattern_id,"
            " @v AS version) S ON T.pattern_id = S.pattern_id AND T.version = S.version"
            " WHEN NOT MATCHED THEN INSERT (pattern_id, version, expression, syntax, tags,"
            " steps, specificity, lines_from_end, description, created_at, actor) VALUES"
            " (@pid, @v, @expression, @syntax, @tags, @steps, @specificity, @lfe,"
            " @description, @at, @actor)",
            pid=pattern_id, v=version, expression=draft.expression,
            syntax=PatternSyntax(draft.syntax).value,
            tags=json.dumps(list(draft.tags), ensure_ascii=False),
            steps=json.dumps(list(draft.steps), ensure_ascii=False),
            specificity=draft.specificity, lfe=Typed("INT64", draft.lines_from_end),
            description=draft.description, at=ts(now_us()), actor=actor) == 1

    def create_pattern(self, draft: PatternDraft, *, actor: str, reason: str = "") -> Pattern:
        check_draft(draft)
        c = self._conn

        def attempt() -> int | None:
            (top,) = c.rows(f"SELECT MAX(id) FROM {c.table('patterns')}")[0]
            pid = int(top or 0) + 1
            claimed = c.execute(
                f"MERGE {c.table('patterns')} T USING (SELECT @id AS id) S ON T.id = S.id"
                " WHEN NOT MATCHED THEN INSERT (id, version, author, created_at, promoted)"
                " VALUES (@id, 1, @author, @at, FALSE)", id=pid, author=actor,
                at=ts(now_us())) == 1
            return pid if claimed else None

        pid = retrying(c, attempt)
        with c.lock:
            self._audit(pid, 1, "create", actor, reason)
            self._insert_version(pid, 1, draft, actor)
        return self._newest(pid)

    def edit_pattern(self, pattern_id: int, draft: PatternDraft, *, actor: str,
                     reason: str = "") -> tuple[Pattern, WriteOutcome]:
        check_draft(draft)
        c = self._conn

        def attempt() -> tuple[Pattern, WriteOutcome] | None:
            before = self._newest(pattern_id)
            if PatternDraft.of(before) == draft:
                return before, WriteOutcome.UNCHANGED
            version = before.version + 1
            if not self._insert_version(pattern_id, version, draft, actor):
                return None  # another editor took this version number: re-read
            self._audit(pattern_id, version, "edit", actor, reason)
            c.execute(f"UPDATE {c.table('patterns')} SET version = @v WHERE id = @id"
                      " AND version = @old", v=version, id=pattern_id, old=before.version)
            return self._newest(pattern_id), WriteOutcome.UPDATED

        return retrying(c, attempt)

    def _set_state(self, pattern_id: int, action: str, actor: str, reason: str,
                   unchanged: bool, assignment: str, **params: Any
                   ) -> tuple[Pattern, WriteOutcome]:
        c = self._conn
        with c.lock:
            before = self._newest(pattern_id)
            if unchanged:
                return before, WriteOutcome.UNCHANGED
            self._audit(pattern_id, before.version, action, actor, reason)
            c.execute(f"UPDATE {c.table('patterns')} SET {assignment} WHERE id = @id",
                      id=pattern_id, **params)
            return self._newest(pattern_id), WriteOutcome.UPDATED

    def promote_pattern(self, pattern_id: int, promoted: bool, *, actor: str,
                        reason: str = "") -> tuple[Pattern, WriteOutcome]:
        current = self._newest(pattern_id)
        return self._set_state(pattern_id, "promote" if promoted else "unpromote", actor,
                               reason, current.promoted == bool(promoted),
                               "promoted = @promoted", promoted=bool(promoted))

    def retire_pattern(self, pattern_id: int, *, actor: str,
                       reason: str = "") -> tuple[Pattern, WriteOutcome]:
        current = self._newest(pattern_id)
        return self._set_state(pattern_id, "retire", actor, reason,
                               current.retired is not None,
                               "retired_at = COALESCE(retired_at, @at)", at=ts(now_us()))

    def get_pattern(self, pattern_id: int, version: int | None = None) -> Pattern | None:
        if version is None:
            found = self._select("p.id = @id", id=pattern_id)
        else:
            found = self._select("p.id = @id", version="@v", id=pattern_id, v=version)
        return found[0] if found else None

    def list_patterns(self, *, include_retired: bool = False, tag: str | None = None,
                      limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        after = decode_cursor(cursor, "patterns", (int,))[0] if cursor else 0
        # The tag filter runs here: tags are a JSON array, and patterns are few.
        found = [p for p in self._select("p.id > @after AND (@retired OR p.retired_at IS NULL)",
                                         after=after, retired=include_retired)
                 if tag is None or tag in p.tags]
        items = tuple(found[:limit])
        more = len(found) > limit
        return Page(items, encode_cursor("patterns", [items[-1].id]) if more else None)

    def patterns_by_ids(self, ids: Sequence[int]) -> dict[int, Pattern]:
        return {p.id: p for p in self._select("p.id IN UNNEST(@ids)",
                                              ids=ints([int(i) for i in ids]))}

    def live_patterns(self) -> list[Pattern]:
        return self._select("p.retired_at IS NULL")

    def pattern_audit(self, pattern_id: int, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        before = decode_cursor(cursor, "pattern_audit", (int,))[0] if cursor else 2**62
        c = self._conn
        rows = c.rows(f"SELECT seq, action, actor, reason, version, at_time FROM"
                      f" {c.table('pattern_audit')} WHERE pattern_id = @pid AND seq < @before"
                      " ORDER BY seq DESC LIMIT @n", pid=pattern_id, before=before, n=limit + 1)
        items = tuple(PatternAuditEntry(pattern_id=pattern_id, action=action, actor=actor,
                                        reason=reason, version=int(version), at=at)
                      for _, action, actor, reason, version, at in rows[:limit])
        more = len(rows) > limit
        return Page(items, encode_cursor("pattern_audit", [int(rows[limit - 1][0])]) if more
                    else None)

    # -- matches (see matches.py) ----------------------------------------------------------------

    def replace_matches(self, job: str, run_id: str, step: str,
                        pattern_versions_scanned: Mapping[int, int],
                        matches: Sequence[LineMatch]) -> None:
        self._matches.replace(LogScan(job, run_id, step, dict(pattern_versions_scanned),
                                      tuple(matches)), must_exist=True)

    def replace_matches_batch(self, scans: Sequence[LogScan]) -> None:
        for scan in scans:
            self._matches.replace(scan, must_exist=False)

    def applied_versions(self, job: str, keys: Sequence[tuple[str, str]]
                         ) -> dict[tuple[str, str], dict[int, int]]:
        return self._matches.applied_versions(job, keys)

    def run_matches(self, job: str, run_ids: Sequence[str]) -> dict[str, list[Match]]:
        return self._matches.run_matches(job, run_ids)

    def match_counts(self, *, since: datetime, job: str | None = None,
                     pattern_ids: Sequence[int] | None = None) -> list[MatchCount]:
        return self._matches.match_counts(since=since, job=job, pattern_ids=pattern_ids)

    def pattern_coverage(self, pattern_id: int) -> PatternCoverage:
        return self._matches.coverage(pattern_id)

    # -- scans ---------------------------------------------------------------------------------

    def _scans(self, where: str, **params: Any) -> list[ScanRecord]:
        c = self._conn
        return [_scan(row) for row in c.rows(
            f"SELECT {_SCAN} FROM {c.table('scans')} WHERE {where} ORDER BY id", **params)]

    def add_scan(self, kind: ScanKind, *, actor: str, pattern_id: int | None = None,
                 pattern_version: int | None = None, job: str | None = None,
                 since: datetime | None = None) -> tuple[ScanRecord, WriteOutcome]:
        c = self._conn
        backfill = ScanKind(kind) is ScanKind.BACKFILL

        def attempt() -> tuple[ScanRecord, WriteOutcome] | None:
            if backfill:
                known = self._scans("pattern_id = @pid AND pattern_version = @v",
                                    pid=Typed("INT64", pattern_id),
                                    v=Typed("INT64", pattern_version))
                if known:
                    return known[0], WriteOutcome.UNCHANGED
            (top,) = c.rows(f"SELECT MAX(id) FROM {c.table('scans')}")[0]
            sid, at = int(top or 0) + 1, ts(now_us())
            # One per pattern version: the MERGE also matches an existing backfill of it.
            same = ("(T.pattern_id = @pid AND T.pattern_version = @v)" if backfill
                    else "FALSE")
            claimed = c.execute(
                f"MERGE {c.table('scans')} T USING (SELECT @id AS id) S"
                f" ON T.id = S.id OR {same} WHEN NOT MATCHED THEN INSERT (id, kind, state,"
                " pattern_id, pattern_version, job, since, cursor, logs_scanned, matches,"
                " error, actor, created_at, updated_at) VALUES (@id, @kind, 'queued', @pid,"
                " @v, @job, @since, NULL, 0, 0, NULL, @actor, @at, @at)",
                id=sid, kind=ScanKind(kind).value, pid=Typed("INT64", pattern_id),
                v=Typed("INT64", pattern_version), job=Typed("STRING", job),
                since=Typed("TIMESTAMP", since), actor=actor, at=at) == 1
            if not claimed:
                return None
            return self._scans("id = @id", id=sid)[0], WriteOutcome.CREATED

        return retrying(c, attempt)

    def get_scan(self, scan_id: int) -> ScanRecord | None:
        found = self._scans("id = @id", id=scan_id)
        return found[0] if found else None

    def update_scan(self, scan_id: int, *, state: ScanState, cursor: str | None,
                    logs_scanned: int, matches: int, error: str | None = None) -> ScanRecord:
        c = self._conn
        with c.lock:
            c.execute(f"UPDATE {c.table('scans')} SET state = @state, cursor = @cursor,"
                      " logs_scanned = @scanned, matches = @matches, error = @error,"
                      " updated_at = @at WHERE id = @id", state=ScanState(state).value,
                      cursor=Typed("STRING", cursor), scanned=logs_scanned, matches=matches,
                      error=Typed("STRING", error), at=ts(now_us()), id=scan_id)
        found = self.get_scan(scan_id)
        if found is None:
            raise NotFound(f"no scan {scan_id}")
        return found

    def open_scans(self) -> list[ScanRecord]:
        return self._scans("state IN ('queued', 'running')")

