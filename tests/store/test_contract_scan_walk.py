"""The store contract as incremental scans lean on it (issue 13, scan speed; every backend):
the log walk across jobs and page sizes, texts read across jobs, scan records of every pattern
gone with their run."""

from __future__ import annotations

from datetime import UTC, datetime

from api.domain import RunSpec, RunStatus
from api.failures.model import PatternSyntax
from api.store import AuditEntry, Store
from api.store.logs import LogRef
from api.store.patterns import LogScan, PatternDraft

from .test_contract import every_page

# Job names sort differently from their insertion order; steps differ per run.
LOGS = [("b-job", "2", "build"), ("a-job", "10", "test"), ("b-job", "1", "unit"),
        ("a-job", "2", "build"), ("c-job", "1", "build"), ("a-job", "10", "build"),
        ("b-job", "1", "build")]


def text(job: str, run_id: str, step: str) -> str:
    return f"{job} {run_id} {step}\n\u00e9t\u00e9\n" * (1 + len(run_id))


def fill(store: Store) -> None:
    for job, run_id, step in LOGS:
        store.put_run(RunSpec(job=job, run_id=run_id, status=RunStatus.FAILURE))
        store.logs.put_log(job, run_id, step, text(job, run_id, step))


def test_every_page_size_walks_every_log_once_in_order_with_its_size(store: Store) -> None:
    fill(store)
    want = sorted(LOGS)
    for limit in range(1, len(LOGS) + 2):
        refs = every_page(lambda c, n=limit: store.logs.logs_page(after=c, limit=n))
        assert all(isinstance(ref, LogRef) for ref in refs)
        assert [(r.job, r.run_id, r.step) for r in refs] == want, limit  # type: ignore[attr-defined]
    one = store.logs.logs_page(limit=len(LOGS)).items
    assert [r.size for r in one] == [len(text(*key).encode()) for key in want]
    only = every_page(lambda c: store.logs.logs_page(after=c, job="b-job", limit=2))
    assert [(r.run_id, r.step) for r in only] == [  # type: ignore[attr-defined]
        ("1", "build"), ("1", "unit"), ("2", "build")]
    assert store.logs.logs_page(job="no-job", limit=3).items == ()


def test_texts_are_read_across_jobs_and_only_the_keys_asked(store: Store) -> None:
    fill(store)
    # ("b-job", "2", "unit") does not exist although run 2 and step unit both do.
    asked = [("a-job", "10", "test"), ("b-job", "2", "build"), ("b-job", "2", "unit"),
             ("c-job", "1", "build"), ("no-job", "1", "build")]
    assert store.logs.get_texts(asked) == {
        key: text(*key) for key in asked[:2] + asked[3:4]}


def test_deleting_a_run_deletes_its_records_of_every_pattern(store: Store) -> None:
    p = store.patterns
    store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.FAILURE))
    store.put_run(RunSpec(job="j", run_id="2", status=RunStatus.FAILURE))
    ids = [p.create_pattern(PatternDraft(f"word{i}", PatternSyntax.LITERAL), actor="a").id
           for i in range(3)]
    p.retire_pattern(ids[0], actor="a")  # retired patterns keep their records
    for run_id in ("1", "2"):
        p.replace_matches_batch([LogScan("j", run_id, step, {pid: 1 for pid in ids}, [])
                                 for step in ("build", "test")])
    # The newest run: a backend that reuses its key for the next run must not carry its records.
    store.delete_run("j", "2", AuditEntry(job="j", action="delete", actor="a", reason="x",
                                          tests=(), version=None,
                                          at=datetime(2026, 1, 1, tzinfo=UTC)))
    keys = [("1", "build"), ("1", "test"), ("2", "build"), ("2", "test")]
    assert p.applied_versions("j", keys) == {key: dict.fromkeys(ids, 1) for key in keys[:2]}
    assert p.applied_versions("j", keys, ids[:1]) == {key: {ids[0]: 1} for key in keys[:2]}
    store.put_run(RunSpec(job="j", run_id="3", status=RunStatus.FAILURE))
    assert p.applied_versions("j", [("3", "build"), ("3", "test")]) == {}
