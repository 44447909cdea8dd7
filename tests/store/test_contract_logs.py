"""The store contract for build logs (``api/store/logs.py``; every backend runs it)."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest

from api.domain import RunSpec, RunStatus, WriteOutcome
from api.store import AuditEntry, InvalidCursor, NotFound, Store
from api.store.logs import CHUNK_BYTES, LogMeta, LogRef

from .test_contract import every_page

TEXT = "+ make test\n\u00e9t\u00e9 \U0001f600 ok\nFAIL\tpkg/x\t1.2s"  # no final newline


def run(store: Store, job: str, run_id: str,
        status: RunStatus = RunStatus.FAILURE) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=status))


def test_a_log_is_stored_as_given_with_its_size_lines_hash_and_meta(store: Store) -> None:
    run(store, "j", "1")
    meta = LogMeta(received_bytes=9000, omitted_bytes=100, omitted_lines=3, cut_lines=2,
                   source="api")
    assert store.logs.put_log("j", "1", "build", TEXT, meta) is WriteOutcome.CREATED
    stored = store.logs.get_log("j", "1", "build")
    assert stored is not None and stored.text == TEXT
    info = stored.info
    assert (info.job, info.run_id, info.step) == ("j", "1", "build")
    assert info.size == len(TEXT.encode()) and info.lines == 3
    assert info.sha256 == hashlib.sha256(TEXT.encode()).hexdigest()
    assert info.meta == meta and stored.truncated and info.truncated
    assert info.stored_at.tzinfo is not None and info.stored_at.utcoffset() == timedelta(0)
    assert store.logs.get_log("j", "1", "test") is None
    assert store.logs.get_log("j", "2", "build") is None
    assert store.logs.get_log("k", "1", "build") is None


def test_the_same_text_again_changes_nothing_and_another_replaces_it(store: Store) -> None:
    run(store, "j", "1")
    store.logs.put_log("j", "1", "build", TEXT, LogMeta(source="api"))
    first = store.logs.get_log("j", "1", "build")
    assert store.logs.put_log("j", "1", "build", TEXT, LogMeta(source="crawler")) \
        is WriteOutcome.UNCHANGED
    assert store.logs.get_log("j", "1", "build") == first
    assert store.logs.put_log("j", "1", "build", "other\n") is WriteOutcome.UPDATED
    second = store.logs.get_log("j", "1", "build")
    assert second is not None and first is not None
    assert second.text == "other\n" and second.info.meta == LogMeta()
    assert second.info.stored_at >= first.info.stored_at
    assert [i.step for i in store.logs.list_logs("j", "1")] == ["build"]


def test_a_log_needs_its_run(store: Store) -> None:
    run(store, "j", "1")
    with pytest.raises(NotFound):
        store.logs.put_log("j", "2", "build", TEXT)
    with pytest.raises(NotFound):
        store.logs.put_log("no-job", "1", "build", TEXT)
    assert store.logs.list_logs("j", "2") == []


def test_a_large_log_round_trips_and_is_replaced_whole(store: Store) -> None:
    # Random text hardly compresses: more than one BigQuery chunk, a big BLOB in SQLite.
    noise = base64.b64encode(random.Random(7).randbytes(CHUNK_BYTES * 2)).decode()
    big = "\n".join(noise[i:i + 100] for i in range(0, len(noise), 100))
    run(store, "j", "1")
    assert store.logs.put_log("j", "1", "build", big) is WriteOutcome.CREATED
    stored = store.logs.get_log("j", "1", "build")
    assert stored is not None and stored.text == big
    smaller = big[: len(big) // 3]
    assert store.logs.put_log("j", "1", "build", smaller) is WriteOutcome.UPDATED
    again = store.logs.get_log("j", "1", "build")
    assert again is not None and again.text == smaller
    assert store.logs.get_texts([("j", "1", "build")]) == {("j", "1", "build"): smaller}


def test_a_run_lists_its_logs_by_step_without_texts(store: Store) -> None:
    run(store, "j", "1")
    run(store, "j", "2")
    for step in ("unit", "build", "e2e"):
        store.logs.put_log("j", "1", step, f"{step}\n")
    store.logs.put_log("j", "2", "other", "x\n")
    infos = store.logs.list_logs("j", "1")
    assert [i.step for i in infos] == ["build", "e2e", "unit"]
    assert all(i.size == len(i.step) + 1 and i.lines == 1 for i in infos)


def test_deleting_a_run_deletes_its_logs(store: Store) -> None:
    run(store, "j", "1")
    run(store, "j", "2")
    store.logs.put_log("j", "1", "build", TEXT)
    store.logs.put_log("j", "2", "build", TEXT)
    store.delete_run("j", "1", AuditEntry(job="j", action="delete_run", actor="t", reason="",
                                          tests=(), version=None, at=datetime.now(UTC)))
    assert store.logs.get_log("j", "1", "build") is None
    assert store.logs.list_logs("j", "1") == []
    assert [ref.run_id for ref in every_page(lambda c: store.logs.logs_page(after=c, limit=5))
            ] == ["2"]
    run(store, "j", "1")
    assert store.logs.list_logs("j", "1") == []
    assert store.logs.get_texts([("j", "1", "build")]) == {}
    assert store.logs.get_log("j", "2", "build") is not None


def test_scanners_walk_every_log_in_key_order_by_job_and_since(store: Store) -> None:
    run(store, "b-job", "1", RunStatus.SUCCESS)
    run(store, "a-job", "2")
    run(store, "a-job", "1")
    for job, run_id, step in [("b-job", "1", "build"), ("a-job", "2", "unit"),
                              ("a-job", "2", "build"), ("a-job", "1", "build")]:
        store.logs.put_log(job, run_id, step, f"{job} {run_id} {step}\n")
    refs = every_page(lambda c: store.logs.logs_page(after=c, limit=2))
    assert all(isinstance(ref, LogRef) for ref in refs)
    keys = [(r.job, r.run_id, r.step) for r in refs]  # type: ignore[attr-defined]
    assert keys == [("a-job", "1", "build"), ("a-job", "2", "build"), ("a-job", "2", "unit"),
                    ("b-job", "1", "build")]
    first = refs[-1]
    assert isinstance(first, LogRef) and first.run_status is RunStatus.SUCCESS
    created = store.get_run("b-job", "1")
    assert created is not None and first.run_created == created.created_at
    only_a = every_page(lambda c: store.logs.logs_page(after=c, job="a-job", limit=1))
    assert len(only_a) == 3
    newest = store.get_run("a-job", "1")
    assert newest is not None
    since = every_page(lambda c: store.logs.logs_page(after=c, since=newest.created_at,
                                                      limit=10))
    assert [(r.job, r.run_id) for r in since] == [("a-job", "1")]  # type: ignore[attr-defined]
    with pytest.raises(InvalidCursor):
        store.logs.logs_page(after="nope", limit=1)
    with pytest.raises(ValueError):
        store.logs.logs_page(limit=0)


def test_texts_come_in_one_batch_and_missing_keys_are_absent(store: Store) -> None:
    run(store, "j", "1")
    run(store, "k", "1")
    store.logs.put_log("j", "1", "build", "j build\n")
    store.logs.put_log("j", "1", "unit", "j unit\n")
    store.logs.put_log("k", "1", "build", "k build\n")
    texts = store.logs.get_texts([("j", "1", "build"), ("k", "1", "build"), ("j", "1", "none"),
                                  ("j", "9", "build"), ("k", "1", "unit")])
    assert texts == {("j", "1", "build"): "j build\n", ("k", "1", "build"): "k build\n"}
    assert store.logs.get_texts([]) == {}

