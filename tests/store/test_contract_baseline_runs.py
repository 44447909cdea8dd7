"""The store contract for baseline membership (honest evidence) and leases; every backend.

A version records the runs it counted; ``payload_evidence`` then removes the judged payload's
own counted runs from the history. A lease is held by one holder at a time and expires.
"""

from __future__ import annotations

import time

import pytest

from api.domain import RunStatus
from api.stats.baseline import compute_baseline
from api.stats.types import TestBaseline
from api.store import HistoryWindow, NotFound, Store

from .conftest import Opener
from .test_contract import run_threads
from .test_contract_history import T0, F, K, P, S, put


def store_version(store: Store, *, run_ids: tuple[str, ...] | None, latch: bool = False,
                  previous: list[TestBaseline] | None = None, exclude: str | None = None) -> int:
    chosen = store.history_window("j", HistoryWindow(exclude_payload=exclude))
    computed = compute_baseline(chosen.tallies, previous=previous, latch=latch, fit=False)
    return store.put_baseline("j", window_days=14, max_runs=200, exclude_payload=exclude,
                              latch=latch, runs=len(chosen.run_ids), prior=computed.prior,
                              tests=computed.tests, run_ids=run_ids).version


def history_of(store: Store, payload: str, version: int | None) -> dict[str, tuple[float, ...]]:
    found = store.payload_evidence("j", payload, version)
    return {name: tuple(float(x) for x in row)
            for name, row in zip(found.names, found.history, strict=True)}


def seed(store: Store) -> None:
    """Four runs of ``old`` where every test passes, then two of ``new`` where ``a`` fails."""
    for i in range(4):
        put(store, f"old{i}", {"a": P, "b": P, "k": K}, payload="old")
    put(store, "new0", {"a": F, "b": P, "c": F, "k": S}, payload="new")
    put(store, "new1", {"a": F, "b": K, "c": F}, payload="new", status=RunStatus.FAILURE)
    put(store, "new2", {"a": F}, payload="new", status=RunStatus.ERROR)  # not evidence


def test_history_window_names_the_runs_it_tallies(store: Store) -> None:
    put(store, "1", {"a": P}, payload="x", started=T0)
    put(store, "2", {"a": F}, payload="y", started=T0.replace(day=3))
    put(store, "3", {"a": F}, payload="y", started=T0.replace(day=2), status=RunStatus.ERROR)
    chosen = store.history_window("j", HistoryWindow())
    assert chosen.run_ids == ("2", "1")
    assert store.history_tallies("j", HistoryWindow()) == (2, chosen.tallies)
    assert store.history_window("j", HistoryWindow(exclude_payload="y")).run_ids == ("1",)
    assert store.history_window("nope", HistoryWindow()).run_ids == ()


def test_a_version_records_the_runs_it_counted(store: Store) -> None:
    seed(store)
    counted = store.history_window("j", HistoryWindow()).run_ids
    version = store_version(store, run_ids=counted)
    assert store.baseline_run_ids("j", version) == frozenset(counted) == frozenset(
        ["old0", "old1", "old2", "old3", "new0", "new1"])
    unknown = store_version(store, run_ids=None)
    assert store.baseline_run_ids("j", unknown) is None
    with pytest.raises(NotFound):
        store.baseline_run_ids("j", 99)


def test_evidence_never_counts_the_payloads_own_runs(store: Store) -> None:
    seed(store)
    honest = store_version(store, run_ids=None, exclude="new")
    counted = store.history_window("j", HistoryWindow()).run_ids
    dishonest = store_version(store, run_ids=counted)
    # runs, passes, failures, flakes, pass_rate, latched
    expected = {"a": (4, 4, 0, 0, 1.0, 0), "b": (4, 4, 0, 0, 1.0, 0),
                "c": (0, 0, 0, 0, 0, 0), "k": (4, 0, 0, 4, 1.0, 0)}
    assert history_of(store, "new", honest) == expected
    assert history_of(store, "new", dishonest) == expected
    # Another payload's evidence keeps everything the version counted (new's runs included).
    put(store, "other0", {"a": P}, payload="other")
    assert history_of(store, "other", dishonest)["a"] == (6, 4, 2, 0, 4 / 6, 0)


def test_only_the_payloads_runs_the_version_counted_are_removed(store: Store) -> None:
    seed(store)
    counted = store.history_window("j", HistoryWindow()).run_ids
    version = store_version(store, run_ids=counted)
    before = history_of(store, "new", version)
    put(store, "new2", {"a": F}, payload="new")  # the payload's run the version never saw
    assert history_of(store, "new", version) == before


def test_a_latched_rate_is_never_lowered_by_the_subtraction(store: Store) -> None:
    for i in range(4):
        put(store, f"old{i}", {"a": P if i else F}, payload="old")  # a: 3 of 4
    first = store_version(store, run_ids=None, latch=True)
    put(store, "new0", {"a": F}, payload="new")
    previous = store.baseline_tests("j", first)
    counted = store.history_window("j", HistoryWindow()).run_ids
    latched = store_version(store, run_ids=counted, latch=True, previous=previous)
    assert [t.latched for t in store.baseline_tests("j", latched)] == [True]
    # Without new0 the window holds 3 passes of 4 again: the latched 0.75 stays.
    assert history_of(store, "new", latched)["a"] == (4, 3, 1, 0, 0.75, 1)


def test_a_lease_has_one_holder_until_it_expires_or_is_released(store: Store) -> None:
    assert store.acquire_lease("baseline:j", "one", 60)
    assert not store.acquire_lease("baseline:j", "two", 60)
    assert store.acquire_lease("baseline:j", "one", 60)  # renewal by its holder
    assert store.acquire_lease("baseline:other", "two", 60)  # names are independent
    store.release_lease("baseline:j", "two")  # not its holder: nothing happens
    assert not store.acquire_lease("baseline:j", "two", 60)
    store.release_lease("baseline:j", "one")
    assert store.acquire_lease("baseline:j", "two", 0.5)
    assert not store.acquire_lease("baseline:j", "one", 60)
    time.sleep(1.2)
    assert store.acquire_lease("baseline:j", "one", 60)  # expired: free again


def test_racing_holders_take_a_lease_once(store: Store, open_handle: Opener) -> None:
    store.acquire_lease("warm", "x", 1)  # the table exists before the race

    def work(i: int) -> bool:
        handle = open_handle()
        try:
            return handle.acquire_lease("contested", f"holder-{i}", 60)
        finally:
            handle.close()

    assert sorted(run_threads(4, work)) == [False, False, False, True]  # type: ignore[type-var]
