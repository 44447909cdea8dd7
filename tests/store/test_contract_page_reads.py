"""The store contract for the reads behind the pages: recent payloads, test history by key
(every backend runs it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.domain import Payload, RunSpec, RunStatus, TestResult, TestStatus
from api.pages_urls import key_for_test
from api.store import AuditEntry, InvalidCursor, Store
from api.store.page_reads import PayloadSeen, TestOutcome

from .test_contract import every_page

SLASHY = "[sig-network] pods should reach /healthz, really (50% of the time)"


def run(store: Store, job: str, run_id: str, payload: str | None,
        tests: list[TestResult], status: RunStatus = RunStatus.FAILURE) -> datetime:
    saved, _ = store.put_run(RunSpec(job=job, run_id=run_id, status=status, payload=payload),
                             tests)
    assert saved.created_at is not None
    return saved.created_at


def test_recent_payloads_are_newest_first_by_first_sight_and_page(store: Store) -> None:
    assert store.page_reads.recent_payloads(limit=5).items == ()
    run(store, "j", "1", "p1", [])
    store.put_payload(Payload(id="p2", expected={"j": 2}))
    run(store, "k", "2", "p3", [])
    run(store, "j", "3", "p1", [])  # a later run does not make p1 newer
    run(store, "j", "4", None, [])  # runs without a payload name none
    seen = every_page(lambda c: store.page_reads.recent_payloads(limit=1, cursor=c))
    assert all(isinstance(item, PayloadSeen) for item in seen)
    assert [(p.id, p.registered) for p in seen] == [  # type: ignore[attr-defined]
        ("p3", False), ("p2", True), ("p1", False)]
    firsts = [p.first_seen for p in seen]  # type: ignore[attr-defined]
    assert firsts == sorted(firsts, reverse=True) and all(t.tzinfo is not None for t in firsts)
    # Registering a payload that has runs keeps its first sight (its runs came first).
    store.put_payload(Payload(id="p1", expected={"j": 2}))
    again = store.page_reads.recent_payloads(limit=10).items
    assert [(p.id, p.registered) for p in again] == [
        ("p3", False), ("p2", True), ("p1", True)]
    assert again[2].first_seen == firsts[2]


def test_deleted_registrations_and_runs_leave_the_payload_list(store: Store) -> None:
    store.put_payload(Payload(id="gone"))
    run(store, "j", "1", "also-gone", [])
    audit = AuditEntry(job="", action="delete", actor="admin", reason="test", tests=(),
                       version=None, at=datetime.now(UTC))
    store.delete_payload("gone", audit)
    store.delete_run("j", "1", audit)
    assert store.page_reads.recent_payloads(limit=10).items == ()


def test_a_key_resolves_to_the_jobs_test_only(store: Store) -> None:
    tests = [TestResult(SLASHY, "e2e", TestStatus.FAILED, 1.5, "boom"),
             TestResult("other", "unit", TestStatus.PASSED)]
    run(store, "j", "1", "p", tests)
    run(store, "k", "1", "p", [TestResult("only-k", "unit", TestStatus.PASSED)])
    found = store.page_reads.find_test("j", key_for_test("e2e", SLASHY))
    assert found is not None and (found.suite, found.name) == ("e2e", SLASHY)
    assert found.key == key_for_test("e2e", SLASHY)
    assert store.page_reads.find_test("j", key_for_test("unit", "only-k")) is None
    assert store.page_reads.find_test("nope", key_for_test("e2e", SLASHY)) is None
    assert store.page_reads.find_test("j", "not a key at all") is None


def test_history_is_every_run_of_the_test_newest_first_with_its_outcome(store: Store) -> None:
    name = SLASHY
    outcomes = [TestStatus.PASSED, TestStatus.FAILED, TestStatus.FLAKED, TestStatus.SKIPPED,
                TestStatus.ERROR]
    created = []
    for i, status in enumerate(outcomes):
        message = f"failure {i}" if status in (TestStatus.FAILED, TestStatus.ERROR) else None
        created.append(run(store, "j", f"r{i}", f"p{i % 2}",
                           [TestResult(name, "e2e", status, i + 0.25, message),
                            TestResult("bystander", "e2e", TestStatus.PASSED)],
                           status=RunStatus.ERROR if i == 4 else RunStatus.FAILURE))
    run(store, "j", "without", "p0", [TestResult("bystander", "e2e", TestStatus.PASSED)])
    run(store, "k", "r9", "p0", [TestResult(name, "e2e", TestStatus.FAILED)])
    key = key_for_test("e2e", name)
    history = every_page(lambda c: store.page_reads.test_history("j", key, limit=2, cursor=c))
    assert history == [
        TestOutcome(run_id=f"r{i}", payload=f"p{i % 2}", created_at=created[i],
                    run_status=RunStatus.ERROR if i == 4 else RunStatus.FAILURE,
                    status=outcomes[i], duration_s=i + 0.25,
                    message=f"failure {i}" if i in (1, 4) else None)
        for i in reversed(range(5))]


def test_history_follows_replaced_tests_and_unknown_keys_are_empty(store: Store) -> None:
    run(store, "j", "1", "p", [TestResult("t", "s", TestStatus.FAILED, None, "x")])
    run(store, "j", "1", "p", [TestResult("t", "s", TestStatus.PASSED)])
    page = store.page_reads.test_history("j", key_for_test("s", "t"), limit=10)
    assert [(o.run_id, o.status, o.message) for o in page.items] == [
        ("1", TestStatus.PASSED, None)]
    assert store.page_reads.test_history("j", key_for_test("s", "u"), limit=10).items == ()


def test_page_read_cursors_are_checked(store: Store) -> None:
    for i in range(3):
        run(store, "j", str(i), f"p{i}", [TestResult("t", "s", TestStatus.PASSED)])
    key = key_for_test("s", "t")
    first = store.page_reads.test_history("j", key, limit=1)
    assert first.next_cursor is not None
    with pytest.raises(InvalidCursor):
        store.page_reads.test_history("j", key_for_test("s", "u"), limit=1,
                                      cursor=first.next_cursor)
    with pytest.raises(InvalidCursor):
        store.page_reads.test_history("j", key, limit=1, cursor="garbage")
    listing = store.page_reads.recent_payloads(limit=1)
    assert listing.next_cursor is not None
    with pytest.raises(InvalidCursor):
        store.page_reads.recent_payloads(limit=1, cursor=first.next_cursor)
    with pytest.raises(ValueError):
        store.page_reads.recent_payloads(limit=0)


def test_a_baseline_record_is_one_tests_record_of_one_version(store: Store) -> None:
    from api.stats.types import Prior, TestBaseline

    run(store, "j", "1", "p", [TestResult("t", "s", TestStatus.PASSED)])
    record = TestBaseline("s", "t", 10, 8, 2, 1, 0.8, 0.4, latched=True, observed_pass_rate=0.7)
    other = TestBaseline("s", "u", 10, 10, 0, 0, 1.0, 0.0)
    version = store.put_baseline("j", window_days=14, max_runs=10, exclude_payload=None,
                                 latch=True, runs=10, prior=Prior(1.0, 1.0),
                                 tests=[record, other]).version
    assert store.page_reads.baseline_record("j", version, "s", "t") == record
    assert store.page_reads.baseline_record("j", version, "s", "u") == other
    assert store.page_reads.baseline_record("j", version, "s", "v") is None
    assert store.page_reads.baseline_record("j", version + 1, "s", "t") is None
    assert store.page_reads.baseline_record("k", version, "s", "t") is None
