"""The work schedule's settings and its bookkeeping of attempts (no GitHub involved)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from api.config import load_config
from api.hooks.publish_trigger import publish_delay
from api.serving.work_schedule import WorkSchedule, retry_delay, work_period
from api.store import Store, open_store
from api.store.work import WorkItem, WorkState


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


def test_settings_are_durations_and_bad_ones_are_refused_in_one_line() -> None:
    assert work_period(load_config(environ={})) == 2.0
    assert work_period(load_config(environ={"FLAKEGATE_WORK_EVERY": "0"})) == 0
    assert publish_delay(load_config(environ={})) == 5.0
    with pytest.raises(ValueError, match="FLAKEGATE_WORK_EVERY"):
        work_period(load_config(environ={"FLAKEGATE_WORK_EVERY": "often"}))
    with pytest.raises(ValueError, match="FLAKEGATE_GITHUB_PUBLISH_DELAY"):
        publish_delay(load_config(environ={"FLAKEGATE_GITHUB_PUBLISH_DELAY": "later"}))


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert retry_delay(30) == 3600.0


def test_failures_retry_until_attempts_are_spent(store: Store, database_url: str) -> None:
    calls: list[int] = []

    def boom(_store: Store, _ctx: object, item: WorkItem) -> str:
        calls.append(item.attempts)
        raise RuntimeError("GitHub is down")

    config = load_config({"DATABASE": database_url, "WORK_MAX_ATTEMPTS": 2}, environ={})
    schedule = WorkSchedule(database_url, 1.0, config, github=None, handlers={"test": boom})
    made = store.work.enqueue("test", "k", "{}")
    schedule.tick(store)
    first = store.work.get_work(made.item.id)
    assert first is not None and first.state is WorkState.QUEUED
    assert first.error == "RuntimeError: GitHub is down"
    claimed = store.work.claim("other", 30)
    assert claimed is None  # waiting for its retry
    # The retry is due (as if 5 s passed): the second attempt is the last.
    store.work.enqueue("test", "k", "{}", not_before=first.created_at)
    schedule.tick(store)
    last = store.work.get_work(made.item.id)
    assert last is not None and last.state is WorkState.DEAD and calls == [1, 2]


def test_an_item_whose_workers_kept_dying_is_dead_without_running(store: Store,
                                                                  database_url: str) -> None:
    ran: list[str] = []
    config = load_config({"DATABASE": database_url, "WORK_MAX_ATTEMPTS": 1}, environ={})
    schedule = WorkSchedule(database_url, 1.0, config, github=None,
                            handlers={"test": lambda *_: ran.append("x") or "ok"})
    made = store.work.enqueue("test", "k", "{}")
    assert store.work.claim("crashed", 0.001) is not None  # a worker died holding it
    time.sleep(0.01)
    schedule.tick(store)
    dead = store.work.get_work(made.item.id)
    assert dead is not None and dead.state is WorkState.DEAD and dead.error == "attempts spent"
    assert ran == []
