"""The store contract for history reads, baselines and the audit log (every backend runs it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.domain import JobSpec, RunSpec, RunStatus, TestResult, TestStatus
from api.stats.types import Prior, TestBaseline, TestTally
from api.store import (
    AuditEntry,
    EvidenceColumns,
    HistoryWindow,
    InvalidCursor,
    NotFound,
    Store,
)

from .test_contract import every_page

T0 = datetime(2026, 11, 1, tzinfo=UTC)
P, F, E, S, K = (TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED,
                 TestStatus.FLAKED)


def put(store: Store, run_id: str, statuses: dict[str, TestStatus], *, job: str = "j",
        payload: str | None = "p", status: RunStatus = RunStatus.SUCCESS,
        started: datetime | None = T0) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=status, payload=payload,
                          started_at=started),
                  [TestResult(name, "s", outcome) for name, outcome in statuses.items()])


def as_dict(tallies: list[TestTally]) -> dict[str, tuple[int, int, int, int]]:
    return {t.name: (t.passes, t.failures, t.flakes, t.skips) for t in tallies}


def test_tallies_count_each_outcome_once_and_only_evidence_runs(store: Store) -> None:
    put(store, "1", {"a": P, "b": F, "c": S})
    put(store, "2", {"a": K, "b": E, "c": P})
    put(store, "3", {"a": F, "b": F, "c": F}, status=RunStatus.ERROR)
    put(store, "4", {"a": F}, status=RunStatus.ABORTED)
    put(store, "5", {"a": F}, status=RunStatus.PENDING)
    put(store, "6", {"a": F}, status=RunStatus.FAILURE)
    runs, tallies = store.history_tallies("j", HistoryWindow())
    assert runs == 3
    assert as_dict(tallies) == {"a": (1, 1, 1, 0), "b": (0, 2, 0, 0), "c": (1, 0, 0, 1)}
    assert evidence_dict(store.payload_evidence("j", "p", None)) == as_dict(tallies)


def test_history_window_newest_runs_since_and_excluded_payload(store: Store) -> None:
    for index in range(6):
        put(store, f"r{index}", {"a": F if index % 2 else P}, payload=f"p{index}",
            started=T0 + timedelta(days=index))
    put(store, "never-started", {"a": P}, payload=None, started=None)  # created "now"
    runs, tallies = store.history_tallies("j", HistoryWindow(max_runs=3))
    # newest three by start (created_at when never started): never-started, r5, r4
    assert runs == 3 and as_dict(tallies) == {"a": (2, 1, 0, 0)}
    runs, _ = store.history_tallies("j", HistoryWindow(since=T0 + timedelta(days=3)))
    assert runs == 4  # r3, r4, r5 and the never-started run
    runs, tallies = store.history_tallies("j", HistoryWindow(exclude_payload="p5",
                                                             max_runs=100))
    assert runs == 6 and as_dict(tallies) == {"a": (4, 2, 0, 0)}


def test_unknown_jobs_and_payloads_read_as_empty(store: Store) -> None:
    assert store.history_tallies("nope", HistoryWindow()) == (0, [])
    assert store.payload_runs("nope") == []
    empty = store.payload_evidence("nope", "p", None)
    assert empty.names == () and empty.counts.shape == (0, 4) and empty.absent == 0


def evidence_dict(columns: EvidenceColumns) -> dict[str, tuple[int, ...]]:
    return {name: tuple(int(value) for value in row)
            for name, row in zip(columns.names, columns.counts, strict=True)}


def test_payload_evidence_aligns_tallies_with_a_baseline_version(store: Store) -> None:
    put(store, "h", {"a": P, "b": P, "gone": P}, payload="old")
    store.put_baseline("j", window_days=21, max_runs=200, exclude_payload=None, latch=True,
                       runs=1, prior=Prior(0.2, 40.0),
                       tests=[baseline("a", 0.9), baseline("gone"),
                              baseline("b", 0.7, latched=True)])
    put(store, "1", {"a": F, "b": P, "new": K})
    put(store, "2", {"a": P, "b": S, "new": P})
    columns = store.payload_evidence("j", "p", 1)
    assert evidence_dict(columns) == {"a": (1, 1, 0, 0), "b": (1, 0, 0, 1),
                                      "new": (1, 0, 1, 0)}
    assert set(columns.suites) == {"s"}
    history = {name: tuple(row) for name, row in zip(columns.names, columns.history,
                                                     strict=True)}
    assert history["a"] == (10, 9, 1, 0, 0.9, 0)
    assert history["b"] == (10, 7, 3, 0, 0.7, 1)
    assert history["new"] == (0, 0, 0, 0, 0, 0)
    assert columns.absent == 1  # "gone" has a record but no result in the payload
    assert store.payload_evidence("j", "p", None).absent == 0


def test_payload_runs_summarise_each_job(store: Store) -> None:
    put(store, "1", {"a": P}, job="b-job")
    put(store, "2", {"a": P}, job="b-job", status=RunStatus.PENDING)
    put(store, "3", {"a": P}, job="b-job", status=RunStatus.ERROR)
    put(store, "1", {"a": F}, job="a-job", status=RunStatus.FAILURE)
    put(store, "9", {"a": P}, job="a-job", payload="other")
    summary = store.payload_runs("p")
    assert [(s.job, s.total, s.finished, s.counted) for s in summary] == [
        ("a-job", 1, 1, 1), ("b-job", 3, 2, 1)]
    before = summary[1].last_change
    put(store, "2", {"a": P}, job="b-job", status=RunStatus.SUCCESS)
    after = store.payload_runs("p")[1]
    assert after.finished == 3 and after.last_change > before


def baseline(name: str, rate: float = 1.0, *, latched: bool = False) -> TestBaseline:
    return TestBaseline("s", name, 10, int(rate * 10), 10 - int(rate * 10), 0, rate,
                        (rate * (1 - rate)) ** 0.5, latched=latched,
                        observed_pass_rate=0.5 if latched else None)


def test_baselines_are_versioned_and_immutable(store: Store) -> None:
    store.put_job(JobSpec(name="j"))
    assert store.get_baseline("j") is None
    first = store.put_baseline("j", window_days=21, max_runs=200, exclude_payload=None,
                               latch=False, runs=10, prior=Prior(0.2, 40.0),
                               tests=[baseline("b", 0.9), baseline("a")])
    assert (first.version, first.tests, first.runs) == (1, 2, 10)
    second = store.put_baseline("j", window_days=7, max_runs=50, exclude_payload="x",
                                latch=True, runs=3, prior=Prior(0.5, 10.0),
                                tests=[baseline("a", 0.7, latched=True)], note="why")
    assert second.version == 2 and second.note == "why" and second.latch
    assert store.get_baseline("j") == second
    assert store.get_baseline("j", 1) == first
    assert store.get_baseline("j", 3) is None
    assert store.baseline_tests("j", 1) == [baseline("a"), baseline("b", 0.9)]
    assert store.baseline_tests("j", 2) == [baseline("a", 0.7, latched=True)]
    assert [v.version for v in every_page(
        lambda cursor: store.list_baselines("j", limit=1, cursor=cursor))] == [2, 1]


def test_baseline_errors(store: Store) -> None:
    with pytest.raises(NotFound):
        store.put_baseline("ghost", window_days=1, max_runs=1, exclude_payload=None,
                           latch=False, runs=0, prior=Prior(1, 1), tests=[])
    store.put_job(JobSpec(name="j"))
    with pytest.raises(NotFound):
        store.baseline_tests("j", 1)
    with pytest.raises(InvalidCursor):
        store.list_baselines("j", limit=5, cursor="garbage")


def test_audit_log_is_append_only_newest_first(store: Store) -> None:
    store.put_job(JobSpec(name="j"))
    entries = [AuditEntry(job="j", action="loosen", actor=f"actor{index}", reason="r",
                          tests=(("s", f"t{index}"), ("", "β test")), version=index,
                          at=T0 + timedelta(minutes=index)) for index in range(3)]
    for entry in entries:
        store.add_audit(entry)
    listed = every_page(lambda cursor: store.list_audit("j", limit=2, cursor=cursor))
    assert listed == list(reversed(entries))
    with pytest.raises(NotFound):
        store.add_audit(AuditEntry(job="ghost", action="x", actor="a", reason="r", tests=(),
                                   version=None, at=T0))


def test_a_baseline_and_its_audit_entry_are_written_together(store: Store) -> None:
    store.put_job(JobSpec(name="j"))
    entry = AuditEntry(job="j", action="loosen", actor="admin", reason="known change",
                       tests=(("s", "a"),), version=None, at=T0)
    version = store.put_baseline("j", window_days=21, max_runs=200, exclude_payload=None,
                                 latch=True, runs=1, prior=Prior(0.2, 40.0),
                                 tests=[baseline("a")], audit=entry)
    [logged] = store.list_audit("j", limit=10).items
    assert logged.version == version.version and logged.reason == "known change"
    bad = [baseline("a"), baseline("a")]  # a duplicate key makes the version's write fail
    with pytest.raises(Exception):  # noqa: B017  (the backend's own integrity error)
        store.put_baseline("j", window_days=21, max_runs=200, exclude_payload=None,
                           latch=True, runs=1, prior=Prior(0.2, 40.0), tests=bad,
                           audit=entry)
    assert len(store.list_audit("j", limit=10).items) == 1, "no audit entry without its version"
    assert store.get_baseline("j") == version
