"""The store contract for patterns, matches and scans (every backend runs it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.domain import RunSpec, RunStatus, WriteOutcome
from api.failures.model import LineMatch, PatternSyntax
from api.store import AuditEntry, NotFound, Store
from api.store.patterns import LogScan, PatternDraft, ScanKind, ScanState

from .test_contract import every_page

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
OOM = PatternDraft("Killed", PatternSyntax.LITERAL, tags=("infra",), specificity=2)
NET = PatternDraft(r"Temporary failure resolving '\S+'", PatternSyntax.REGEX,
                   tags=("infra", "network"), steps=("build",))


def run(store: Store, job: str, run_id: str, status: RunStatus = RunStatus.FAILURE,
        started: datetime = T0) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=status, started_at=started))


def hit(pid: int, version: int, line: int, text: str = "Killed") -> LineMatch:
    return LineMatch(pid, version, line, 0, len(text), text)


# -- patterns ----------------------------------------------------------------------------------


def test_create_edit_keeps_every_version_and_audits(store: Store) -> None:
    p = store.patterns
    made = p.create_pattern(OOM, actor="alice", reason="oom kills")
    assert (made.version, made.expression, made.author, made.tags) == (1, "Killed", "alice",
                                                                      ("infra",))
    assert made.created is not None and made.retired is None and not made.promoted
    edited, outcome = p.edit_pattern(made.id, PatternDraft("Killed process", OOM.syntax,
                                                           tags=OOM.tags), actor="bob")
    assert outcome is WriteOutcome.UPDATED and edited.version == 2 and edited.id == made.id
    assert edited.author == "alice"  # the pattern's author, not the editor
    same, outcome = p.edit_pattern(made.id, PatternDraft.of(edited), actor="bob")
    assert outcome is WriteOutcome.UNCHANGED and same.version == 2
    old = p.get_pattern(made.id, 1)
    assert old is not None and old.expression == "Killed" and old.version == 1
    assert p.get_pattern(made.id) == edited
    assert p.get_pattern(made.id, 3) is None and p.get_pattern(made.id + 100) is None
    audit = every_page(lambda cursor: p.pattern_audit(made.id, limit=1, cursor=cursor))
    assert [(e.action, e.actor, e.version) for e in audit] == [("edit", "bob", 2),
                                                               ("create", "alice", 1)]
    assert audit[1].reason == "oom kills"
    with pytest.raises(NotFound):
        p.edit_pattern(made.id + 100, OOM, actor="bob")


def test_retire_and_promote_are_state_not_versions(store: Store) -> None:
    p = store.patterns
    made = p.create_pattern(OOM, actor="alice")
    promoted, outcome = p.promote_pattern(made.id, True, actor="carol")
    assert outcome is WriteOutcome.UPDATED and promoted.promoted and promoted.version == 1
    assert p.promote_pattern(made.id, True, actor="carol")[1] is WriteOutcome.UNCHANGED
    retired, outcome = p.retire_pattern(made.id, actor="dave", reason="obsolete")
    assert outcome is WriteOutcome.UPDATED and retired.retired is not None
    again, outcome = p.retire_pattern(made.id, actor="erin")
    assert outcome is WriteOutcome.UNCHANGED and again.retired == retired.retired
    first = p.get_pattern(made.id, 1)
    assert first is not None and first.retired == retired.retired
    actions = [e.action for e in p.pattern_audit(made.id, limit=10).items]
    assert actions == ["retire", "promote", "create"]
    with pytest.raises(NotFound):
        p.retire_pattern(made.id + 100, actor="x")


def test_list_filters_retired_and_tags_and_pages(store: Store) -> None:
    p = store.patterns
    a = p.create_pattern(OOM, actor="a")
    b = p.create_pattern(NET, actor="a")
    c = p.create_pattern(PatternDraft("flaky thing", PatternSyntax.LITERAL, tags=("flaky",)),
                         actor="a")
    p.retire_pattern(a.id, actor="a")
    live = every_page(lambda cursor: p.list_patterns(limit=1, cursor=cursor))
    assert [x.id for x in live] == [b.id, c.id]
    every = every_page(lambda cursor: p.list_patterns(include_retired=True, limit=2,
                                                      cursor=cursor))
    assert [x.id for x in every] == [a.id, b.id, c.id]
    assert [x.id for x in p.list_patterns(tag="network", limit=10).items] == [b.id]
    assert [x.id for x in p.list_patterns(tag="infra", include_retired=True,
                                          limit=10).items] == [a.id, b.id]
    assert [x.id for x in p.live_patterns()] == [b.id, c.id]
    found = p.patterns_by_ids([a.id, c.id, 9999])
    assert sorted(found) == [a.id, c.id] and found[a.id].retired is not None


# -- matches -----------------------------------------------------------------------------------


def test_replace_matches_per_pattern_and_version(store: Store) -> None:
    p = store.patterns
    run(store, "j", "1")
    oom, net = p.create_pattern(OOM, actor="a"), p.create_pattern(NET, actor="a")
    p.replace_matches("j", "1", "build", {oom.id: 1, net.id: 1},
                      [hit(oom.id, 1, 7), hit(net.id, 1, 3, "Temporary failure resolving 'x'")])
    assert p.applied_versions("j", [("1", "build"), ("1", "test")]) == {
        ("1", "build"): {oom.id: 1, net.id: 1}}
    # The edited pattern's matches are replaced by its new version's; the other pattern's stay.
    p.replace_matches("j", "1", "build", {oom.id: 2}, [hit(oom.id, 2, 9), hit(oom.id, 2, 11)])
    found = p.run_matches("j", ["1", "2"])
    assert list(found) == ["1"]
    assert [(m.step, m.line.pattern_id, m.line.pattern_version, m.line.line_number)
            for m in found["1"]] == [("build", net.id, 1, 3), ("build", oom.id, 2, 9),
                                     ("build", oom.id, 2, 11)]
    assert found["1"][0].job == "j" and found["1"][0].run_id == "1"
    # A late scan with an older version changes nothing.
    p.replace_matches("j", "1", "build", {oom.id: 1}, [hit(oom.id, 1, 1)])
    assert [m.line.line_number for m in p.run_matches("j", ["1"])["1"]] == [3, 9, 11]
    # A scan that found nothing clears that pattern's matches and records the version.
    p.replace_matches("j", "1", "build", {oom.id: 3}, [])
    assert [m.line.pattern_id for m in p.run_matches("j", ["1"])["1"]] == [net.id]
    assert p.applied_versions("j", [("1", "build")])[("1", "build")] == {oom.id: 3, net.id: 1}


def test_replace_matches_refuses_foreign_matches_and_unknown_runs(store: Store) -> None:
    p = store.patterns
    run(store, "j", "1")
    with pytest.raises(ValueError):
        p.replace_matches("j", "1", "build", {1: 1}, [hit(1, 2, 1)])
    with pytest.raises(NotFound):
        p.replace_matches("j", "nope", "build", {1: 1}, [])
    assert p.run_matches("j", ["1"]) == {}


def test_batch_skips_gone_runs_and_delete_run_deletes_matches(store: Store) -> None:
    p = store.patterns
    run(store, "j", "1")
    run(store, "j", "2")
    pid = p.create_pattern(OOM, actor="a").id
    p.replace_matches_batch([LogScan("j", str(i), "build", {pid: 1}, [hit(pid, 1, i)])
                             for i in (1, 2, 3)])
    assert sorted(p.run_matches("j", ["1", "2", "3"])) == ["1", "2"]
    store.delete_run("j", "1", AuditEntry(job="j", action="delete", actor="a", reason="x",
                                          tests=(), version=None, at=T0))
    assert sorted(p.run_matches("j", ["1", "2"])) == ["2"]
    assert p.applied_versions("j", [("1", "build")]) == {}
    run(store, "j", "1")  # the same run put again starts unscanned
    assert p.run_matches("j", ["1"]) == {} and p.applied_versions("j", [("1", "build")]) == {}


def test_match_counts_per_pattern_job_and_day(store: Store) -> None:
    p = store.patterns
    a, b = p.create_pattern(OOM, actor="a").id, p.create_pattern(NET, actor="a").id
    run(store, "j", "1", started=T0)
    run(store, "j", "2", started=T0 + timedelta(hours=1))
    run(store, "k", "1", started=T0 + timedelta(days=1))
    run(store, "j", "old", started=T0 - timedelta(days=30))
    p.replace_matches("j", "1", "build", {a: 1, b: 1}, [hit(a, 1, 1), hit(a, 1, 2),
                                                        hit(b, 1, 3)])
    p.replace_matches("j", "2", "build", {a: 1}, [hit(a, 1, 1)])
    p.replace_matches("k", "1", "test", {a: 1}, [hit(a, 1, 5)])
    p.replace_matches("j", "old", "build", {a: 1}, [hit(a, 1, 5)])
    since = T0 - timedelta(days=1)
    counts = [(c.day, c.job, c.pattern_id, c.runs, c.matches)
              for c in p.match_counts(since=since)]
    assert counts == [("2026-11-01", "j", a, 2, 3), ("2026-11-01", "j", b, 1, 1),
                      ("2026-11-02", "k", a, 1, 1)]
    assert [c.job for c in p.match_counts(since=since, job="k")] == ["k"]
    assert [c.pattern_id for c in p.match_counts(since=since, pattern_ids=[b])] == [b]


def test_coverage_counts_failed_and_passing_logs_scanned_with_the_pattern(store: Store) -> None:
    p = store.patterns
    a, b = p.create_pattern(OOM, actor="a").id, p.create_pattern(NET, actor="a").id
    for i in range(4):
        run(store, "j", f"f{i}", RunStatus.FAILURE)
        run(store, "j", f"s{i}", RunStatus.SUCCESS)
    for i in range(4):
        p.replace_matches("j", f"f{i}", "build", {a: 1}, [hit(a, 1, 1)] if i < 3 else [])
        p.replace_matches("j", f"s{i}", "build", {a: 1}, [hit(a, 1, 1)] if i < 1 else [])
    p.replace_matches("j", "f0", "test", {b: 1}, [])
    cov = p.pattern_coverage(a)
    assert (cov.failed_logs, cov.failed_matched, cov.passed_logs, cov.passed_matched) == (
        4, 3, 4, 1)
    cov = p.pattern_coverage(b)
    assert (cov.failed_logs, cov.failed_matched, cov.passed_logs) == (1, 0, 0)


# -- scans -------------------------------------------------------------------------------------


def test_scans_backfill_once_per_version_and_progress(store: Store) -> None:
    p = store.patterns
    first, outcome = p.add_scan(ScanKind.BACKFILL, actor="server", pattern_id=1,
                                pattern_version=1)
    assert outcome is WriteOutcome.CREATED and first.state is ScanState.QUEUED
    again, outcome = p.add_scan(ScanKind.BACKFILL, actor="server", pattern_id=1,
                                pattern_version=1)
    assert outcome is WriteOutcome.UNCHANGED and again.id == first.id
    second, _ = p.add_scan(ScanKind.BACKFILL, actor="server", pattern_id=1, pattern_version=2)
    rescan, _ = p.add_scan(ScanKind.RESCAN, actor="admin", job="j", since=T0)
    assert rescan.since == T0 and rescan.job == "j" and rescan.kind is ScanKind.RESCAN
    assert [s.id for s in p.open_scans()] == [first.id, second.id, rescan.id]
    moved = p.update_scan(first.id, state=ScanState.RUNNING, cursor="c1", logs_scanned=10,
                          matches=3)
    assert (moved.cursor, moved.logs_scanned, moved.matches) == ("c1", 10, 3)
    p.update_scan(first.id, state=ScanState.DONE, cursor=None, logs_scanned=12, matches=3)
    assert [s.id for s in p.open_scans()] == [second.id, rescan.id]
    got = p.get_scan(first.id)
    assert got is not None and got.state is ScanState.DONE and got.logs_scanned == 12
    assert p.get_scan(99999) is None
    with pytest.raises(NotFound):
        p.update_scan(99999, state=ScanState.DONE, cursor=None, logs_scanned=0, matches=0)
