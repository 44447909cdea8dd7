"""A small history touching most logical tables, built through the store interface only, and
helpers to read a store's logical tables whole (for the transfer contract and copy tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.domain import (
    JobSpec,
    JunitFile,
    Payload,
    RunSpec,
    RunStatus,
    Scope,
    TestResult,
    TestStatus,
)
from api.failures.model import PatternSyntax
from api.stats.baseline import compute_baseline
from api.store import AttachedFile, AuditEntry, CrawlRecord, CrawlState, HistoryWindow, Store
from api.store.github import Publication
from api.store.patterns import PatternDraft
from api.store.transfer import TABLES, Row

T0 = datetime(2026, 11, 1, tzinfo=UTC)
P, F, K = TestStatus.PASSED, TestStatus.FAILED, TestStatus.SKIPPED


def build_history(store: Store) -> None:
    """Jobs with settings (audited), runs with messages, informing marks and attached files,
    a payload, a baseline with its runs and an audited loosening, tokens (one revoked), crawl
    records, a log, a pattern and a breakage, work items (done, dead, claimed) and GitHub
    publications."""
    store.put_job(JobSpec("e2e", variant={"platform": "aws"}, policy="stddev",
                          expected_runs=2, settings={"excuse": ["infra"]}), actor="admin")
    store.put_job(JobSpec("e2e", settings={"excuse": ["infra", "quota"]}), actor="admin")
    for i in range(6):
        started = T0 + timedelta(hours=i)
        store.put_run(
            RunSpec(job="e2e", run_id=f"r{i}", status=RunStatus.SUCCESS if i % 3 else
                    RunStatus.FAILURE, payload="p1" if i >= 4 else None, started_at=started,
                    finished_at=started + timedelta(minutes=5), url=f"https://ci/{i}",
                    metadata={"n": str(i)}),
            [TestResult(f"t{k}", "suite", F if (i + k) % 5 == 0 else P, duration_s=k + 0.25,
                        message="boom\u00e9" if (i + k) % 5 == 0 else None,
                        informing=k == 3) for k in range(8)])
    store.put_run(RunSpec(job="unit", run_id="u1", status=RunStatus.PENDING, payload="p1"))
    store.attach_junit("unit", "u1", [
        AttachedFile(JunitFile("a.xml", "a" * 64, 2),
                     [TestResult("x", "s", P, 1.0), TestResult("y", "s", K)])])
    store.put_payload(Payload("p1", {"e2e": 2, "unit": 1}, T0 + timedelta(days=1)))
    chosen = store.history_window("e2e", HistoryWindow())
    computed = compute_baseline(chosen.tallies, latch=True, fit=False)
    store.put_baseline("e2e", window_days=14, max_runs=200, exclude_payload=None, latch=True,
                       runs=len(chosen.run_ids), prior=computed.prior, tests=computed.tests,
                       run_ids=chosen.run_ids, note="first",
                       audit=AuditEntry(job="e2e", action="loosen", actor="admin",
                                        reason="flaky infra", tests=(("suite", "t0"),),
                                        version=None, at=T0))
    store.add_token("f" * 64, Scope.ADMIN, "ops", expires_at=T0 + timedelta(days=90))
    store.add_token("e" * 64, Scope.WRITE, "ci")
    store.revoke_token("e" * 12, actor="admin", at=T0)
    store.put_crawl_records([
        CrawlRecord("gs://b/logs", "gs://b/logs/e2e/1", CrawlState.DONE, 1, None, "e2e", "r1"),
        CrawlRecord("gs://b/logs", "gs://b/logs/e2e/9", CrawlState.FAILED, 3, "no junit")])
    store.logs.put_log("e2e", "r0", "build", "line one\nerror: boom\n" * 20)
    pattern = store.patterns.create_pattern(
        PatternDraft("error: boom", PatternSyntax.LITERAL, tags=("infra",)), actor="admin")
    store.breakages.add_breakage(cause="registry down", jobs=["e2e"],
                                 pattern_id=pattern.id, notes="", actor="admin", started=T0)
    # Work in each state: done, dead (an error), and one claimed right now (its claim is a
    # running process's and does not move).
    for key in ("done", "dead", "claimed"):
        store.work.enqueue("publish", key, '{"payload":"p1"}', once=True)
    for key in ("done", "dead"):
        item = store.work.claim("w0", 60.0)
        assert item is not None and item.key == key
        if key == "done":
            store.work.complete(item.id, "w0")
        else:
            store.work.fail(item.id, "w0", "HTTP 422", retry_at=None)
    assert store.work.claim("w0", 600.0) is not None
    store.github.put_publication(Publication("org/repo", "comment:7", "d" * 64, 1234))
    store.github.put_publication(Publication("org/repo", "check:abc", "c" * 64, None))


def read_all(store: Store, table: str, limit: int = 10_000) -> list[Row]:
    rows: list[Row] = []
    after = None
    while True:
        page, after = store.transfer.export_rows(table, after, limit)
        rows += page
        if after is None:
            return rows


def snapshot(store: Store) -> dict[str, list[Row]]:
    """Every logical table's rows, sorted (backends page in their own order)."""
    return {t.name: sorted(read_all(store, t.name), key=repr) for t in TABLES}


def import_all(source: Store, target: Store, limit: int = 3) -> None:
    for table in TABLES:
        after = None
        while True:
            page, after = source.transfer.export_rows(table.name, after, limit)
            target.transfer.import_rows(table.name, page)
            if after is None:
                break
