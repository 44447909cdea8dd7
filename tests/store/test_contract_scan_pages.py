"""The scan-pages store part (issue 13, scan speed; every backend): the same walk and cursors as
the log walk, the applied versions of the patterns asked, texts, and the byte bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.domain import RunSpec, RunStatus
from api.failures.model import LineMatch, PatternSyntax
from api.store import Store
from api.store.patterns import LogScan, PatternDraft
from api.store.scan_pages import ScanItem, format_applied, parse_applied

from .test_contract import every_page
from .test_contract_scan_walk import LOGS, fill, text


def keys(items: list[object]) -> list[tuple[str, str, str]]:
    return [(i.job, i.run_id, i.step) for i in items]  # type: ignore[attr-defined]


def test_pages_walk_every_log_like_the_log_walk_and_share_its_cursors(store: Store) -> None:
    fill(store)
    want = sorted(LOGS)
    for limit in range(1, len(LOGS) + 2):
        items = every_page(lambda c, n=limit: store.scan_pages.scan_page(
            versions={}, after=c, limit=n, max_bytes=1 << 20))
        assert all(isinstance(i, ScanItem) for i in items)
        assert keys(items) == want, limit
    items = list(store.scan_pages.scan_page(versions={}, limit=len(LOGS), max_bytes=1).items)
    assert [(i.status, i.size, i.applied) for i in items] == [
        ("failure", len(text(*key).encode()), "") for key in want]
    # A cursor of the log walk resumes a scan page, and the other way round.
    walked = store.logs.logs_page(limit=3)
    rest = store.scan_pages.scan_page(versions={}, after=walked.next_cursor, limit=10,
                                      max_bytes=1 << 20)
    assert keys(list(rest.items)) == want[3:]
    paged = store.scan_pages.scan_page(versions={}, limit=2, max_bytes=1 << 20)
    assert [(r.job, r.run_id, r.step) for r in store.logs.logs_page(
        after=paged.next_cursor, limit=10).items] == want[2:]
    only = every_page(lambda c: store.scan_pages.scan_page(versions={}, after=c, job="b-job",
                                                           limit=2, max_bytes=1 << 20))
    assert [(i.run_id, i.step) for i in only] == [  # type: ignore[attr-defined]
        ("1", "build"), ("1", "unit"), ("2", "build")]


def test_since_keeps_runs_created_at_or_after_it(store: Store) -> None:
    fill(store)
    since = datetime.now(UTC) + timedelta(hours=1)
    assert store.scan_pages.scan_page(versions={}, since=since, limit=5,
                                      max_bytes=1 << 20).items == ()


def test_applied_versions_of_the_patterns_asked_and_texts(store: Store) -> None:
    fill(store)
    p = store.patterns
    a, b, c = (p.create_pattern(PatternDraft(f"w{i}", PatternSyntax.LITERAL), actor="x").id
               for i in range(3))
    line = LineMatch(b, 1, 1, 0, 2, "w1")
    p.replace_matches_batch([LogScan("a-job", "10", "test", {a: 1, b: 1, c: 1}, [line]),
                             LogScan("b-job", "1", "unit", {b: 1}, [])])
    items = every_page(lambda cur: store.scan_pages.scan_page(
        versions={b: 2, a: 1}, after=cur, limit=2, max_bytes=1 << 20))
    applied = {k: i.applied for k, i in zip(keys(items), items, strict=True)}  # type: ignore[attr-defined]
    assert applied == {key: "" for key in LOGS} | {
        ("a-job", "10", "test"): format_applied({a: 1, b: 1}),
        ("b-job", "1", "unit"): format_applied({b: 1})}
    assert parse_applied(applied["a-job", "10", "test"]) == {a: 1, b: 1}
    assert parse_applied("") == {}
    got = store.scan_pages.texts(items)  # type: ignore[arg-type]
    assert got == [text(*key).encode() for key in keys(items)]


def test_a_log_with_nothing_to_do_still_has_its_text(store: Store) -> None:
    fill(store)
    p = store.patterns
    pid = p.create_pattern(PatternDraft("w", PatternSyntax.LITERAL), actor="x").id
    p.replace_matches_batch([LogScan(j, r, s, {pid: 1}, []) for j, r, s in LOGS])
    items = store.scan_pages.scan_page(versions={pid: 1}, limit=20, max_bytes=1 << 20).items
    assert {i.applied for i in items} == {f"{pid}:1"}
    assert store.scan_pages.texts(items) == [text(*key).encode() for key in keys(list(items))]


def test_a_log_deleted_since_its_page_has_no_text_or_its_text(store: Store) -> None:
    store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS))
    store.logs.put_log("j", "1", "build", "hello\n")
    items = store.scan_pages.scan_page(versions={}, limit=5, max_bytes=1 << 20).items
    assert [i.status for i in items] == ["success"]
    assert store.scan_pages.texts([ScanItem("j", "2", "build", "failure", 1, "")]) == [None]


def test_texts_are_the_stored_utf8_lone_surrogates_included(store: Store) -> None:
    odd = "caf\u00e9 \udcff end\n"  # a lone surrogate, as a surrogateescape decode leaves it
    store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.FAILURE))
    store.logs.put_log("j", "1", "build", odd)
    pid = store.patterns.create_pattern(PatternDraft("w", PatternSyntax.LITERAL), actor="x").id
    items = store.scan_pages.scan_page(versions={pid: 1}, limit=5, max_bytes=1 << 20).items
    assert store.scan_pages.texts(items) == [odd.encode("utf-8", "surrogatepass")]


def test_items_carrying_texts_stay_within_the_byte_bound(store: Store) -> None:
    fill(store)
    pid = store.patterns.create_pattern(PatternDraft("w", PatternSyntax.LITERAL), actor="x").id
    bound = 2 * max(len(text(*key).encode()) for key in LOGS)
    items = every_page(lambda c: store.scan_pages.scan_page(
        versions={pid: 1}, after=c, limit=len(LOGS), max_bytes=bound))
    assert keys(items) == sorted(LOGS)
    page = store.scan_pages.scan_page(versions={pid: 1}, limit=len(LOGS), max_bytes=bound)
    held = sum(i.size for i in page.items if i.data is not None)
    assert held <= bound or len(page.items) == 1
    # A bound below every log: one log a page, the walk still complete.
    ones = every_page(lambda c: store.scan_pages.scan_page(
        versions={pid: 1}, after=c, limit=len(LOGS), max_bytes=1))
    assert keys(ones) == sorted(LOGS)
