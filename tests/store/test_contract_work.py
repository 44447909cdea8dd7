"""The store contract for durable background work (api/store/work.py; every backend)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from api.store import Store
from api.store.work import WorkState

from .test_contract import every_page

PAST = datetime(2020, 1, 1, tzinfo=UTC)


def test_enqueue_then_claim_complete(store: Store) -> None:
    made = store.work.enqueue("hook", "d1", '{"a": 1}')
    assert made.created and made.item.state is WorkState.QUEUED and made.item.attempts == 0
    assert made.item.not_before.tzinfo is not None
    claimed = store.work.claim("w1", 30)
    assert claimed is not None and claimed.id == made.item.id
    assert (claimed.holder, claimed.attempts, claimed.body) == ("w1", 1, '{"a": 1}')
    assert claimed.lease_until is not None and claimed.lease_until > datetime.now(UTC)
    assert store.work.claim("w2", 30) is None  # held
    assert not store.work.complete(claimed.id, "w2")  # not the holder
    assert store.work.complete(claimed.id, "w1")
    done = store.work.get_work(claimed.id)
    assert done is not None and done.state is WorkState.DONE
    assert store.work.claim("w1", 30) is None
    assert store.work.get_work("nope") is None


def test_once_blocks_every_later_enqueue_of_the_key(store: Store) -> None:
    first = store.work.enqueue("hook", "d1", "x", once=True)
    again = store.work.enqueue("hook", "d1", "y", once=True)
    assert not again.created and again.item.id == first.item.id and again.item.body == "x"
    item = store.work.claim("w", 30)
    assert item is not None and store.work.complete(item.id, "w")
    assert not store.work.enqueue("hook", "d1", "z", once=True).created  # done still blocks
    assert store.work.enqueue("hook", "d2", "z", once=True).created
    assert store.work.enqueue("other", "d1", "z", once=True).created  # keys are per kind


def test_a_waiting_item_absorbs_new_work_and_keeps_the_earlier_time(store: Store) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    first = store.work.enqueue("publish", "p1", "b", not_before=later)
    assert store.work.claim("w", 30) is None  # not due yet
    soon = store.work.enqueue("publish", "p1", "b", not_before=later + timedelta(hours=1))
    assert not soon.created and soon.item.not_before == first.item.not_before
    now = store.work.enqueue("publish", "p1", "b")
    assert not now.created and now.item.id == first.item.id
    assert now.item.not_before < later
    assert store.work.claim("w", 30) is not None


def test_work_in_progress_does_not_absorb_new_work_but_keeps_its_key_exclusive(
        store: Store) -> None:
    store.work.enqueue("publish", "p1", "b")
    running = store.work.claim("w1", 30)
    assert running is not None
    second = store.work.enqueue("publish", "p1", "b")
    assert second.created  # the write may have come after the worker's read
    assert store.work.claim("w2", 30) is None  # one worker at a time per key
    assert store.work.complete(running.id, "w1")
    follow = store.work.claim("w2", 30)
    assert follow is not None and follow.id == second.item.id


def test_an_expired_lease_is_claimed_again_and_the_old_holder_cannot_finish(
        store: Store) -> None:
    made = store.work.enqueue("hook", "d1", "x", once=True)
    first = store.work.claim("crashed", 0.2)
    assert first is not None
    time.sleep(0.4)
    second = store.work.claim("w2", 30)
    assert second is not None and second.id == made.item.id and second.attempts == 2
    assert not store.work.complete(made.item.id, "crashed")
    assert store.work.complete(made.item.id, "w2")


def test_fail_retries_later_or_marks_dead(store: Store) -> None:
    made = store.work.enqueue("hook", "d1", "x")
    item = store.work.claim("w", 30)
    assert item is not None
    # Far enough ahead that the reads below (slow on an emulator) come before it.
    retry_at = datetime.now(UTC) + timedelta(seconds=3)
    assert store.work.fail(item.id, "w", "boom", retry_at=retry_at)
    waiting = store.work.get_work(made.item.id)
    assert waiting is not None and waiting.state is WorkState.QUEUED
    assert (waiting.error, waiting.holder, waiting.lease_until) == ("boom", None, None)
    assert store.work.claim("w", 30) is None
    time.sleep(max(0.0, (retry_at - datetime.now(UTC)).total_seconds()) + 0.1)
    again = store.work.claim("w", 30)
    assert again is not None and again.attempts == 2
    assert store.work.fail(again.id, "w", "for good", retry_at=None)
    dead = store.work.get_work(made.item.id)
    assert dead is not None and dead.state is WorkState.DEAD and dead.error == "for good"
    assert store.work.claim("w", 30) is None


def test_claim_takes_the_oldest_due_first_and_filters_kinds(store: Store) -> None:
    store.work.enqueue("publish", "b", "2", not_before=PAST + timedelta(days=1))
    store.work.enqueue("hook", "a", "1", not_before=PAST)
    assert store.work.claim("w", 30, kinds=()) is None
    first = store.work.claim("w", 30, kinds=("publish",))
    assert first is not None and first.key == "b"
    second = store.work.claim("w", 30)
    assert second is not None and second.key == "a"


def test_list_pages_newest_first_filters_and_purge(store: Store) -> None:
    for n in range(5):
        store.work.enqueue("hook", f"d{n}", "x", once=True)
    store.work.enqueue("publish", "p", "x")
    done = store.work.claim("w", 30, kinds=("hook",))
    assert done is not None and store.work.complete(done.id, "w")
    listed = every_page(lambda cursor: store.work.list_work(kind="hook", limit=2,
                                                            cursor=cursor))
    assert [item.key for item in listed] == ["d4", "d3", "d2", "d1", "d0"]
    queued = every_page(lambda cursor: store.work.list_work(state=WorkState.QUEUED, limit=10,
                                                            cursor=cursor))
    assert sorted(item.key for item in queued) == ["d1", "d2", "d3", "d4", "p"]
    assert store.work.purge_work("hook", PAST) == 0
    assert store.work.purge_work("hook", datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert store.work.get_work(done.id) is None
    assert len(every_page(lambda cursor: store.work.list_work(limit=10, cursor=cursor))) == 5
