"""The store contract for known breakages (every backend runs it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.domain import RunSpec, RunStatus
from api.failures.model import Breakage
from api.store import NotFound, Store
from api.store.breakages import BreakageResolved

from .test_contract import every_page

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def declare(store: Store, cause: str = "abc123", jobs: tuple[str, ...] = ("j",),
            pattern_id: int | None = 4, started: datetime | None = T0) -> Breakage:
    return store.breakages.add_breakage(cause=cause, jobs=jobs, pattern_id=pattern_id,
                                        notes="mirror down", actor="admin sha256:x",
                                        started=started)


def test_a_declared_breakage_is_ongoing_and_reads_back_as_stored(store: Store) -> None:
    first = declare(store, jobs=("j", "k", "j"))
    second = declare(store, cause="payload p9", jobs=(), pattern_id=None, started=None)
    assert (first.id, second.id) == (1, 2)
    assert first == Breakage(id=1, cause="abc123", jobs=("j", "k"), pattern_id=4,
                             notes="mirror down", started=T0, created_by="admin sha256:x")
    assert first.ongoing and store.breakages.get_breakage(1) == first
    assert second.pattern_id is None and second.jobs == ()
    assert second.started.tzinfo is not None
    assert abs(second.started - datetime.now(UTC)) < timedelta(minutes=5)
    assert store.breakages.ongoing_breakages() == [second, first]


def test_resolving_sets_the_resolution_once(store: Store) -> None:
    declare(store)
    at = T0 + timedelta(hours=3)
    done = store.breakages.resolve_breakage(1, resolution="fix456", actor="admin b", at=at)
    assert (done.resolution, done.resolved, done.resolved_by, done.ongoing) == (
        "fix456", at, "admin b", False)
    with pytest.raises(BreakageResolved):
        store.breakages.resolve_breakage(1, resolution="other", actor="c", at=T0)
    assert store.breakages.get_breakage(1) == done
    assert store.breakages.ongoing_breakages() == []


def test_unknown_breakages_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.breakages.get_breakage(7)
    with pytest.raises(NotFound):
        store.breakages.resolve_breakage(7, resolution="x", actor="a", at=T0)


def test_listing_pages_newest_first_and_filters_by_state_and_job(store: Store) -> None:
    for jobs in (("j",), ("k",), (), ("j", "k"), ("m",)):
        declare(store, jobs=jobs)
    store.breakages.resolve_breakage(4, resolution="fix", actor="a", at=T0)
    b = store.breakages

    def ids(ongoing: bool | None = None, job: str | None = None) -> list[int]:
        pages = every_page(lambda cursor: b.list_breakages(ongoing=ongoing, job=job, limit=2,
                                                           cursor=cursor))
        return [x.id for x in pages if isinstance(x, Breakage)]

    assert ids() == [5, 4, 3, 2, 1]
    assert ids(ongoing=True) == [5, 3, 2, 1]
    assert ids(ongoing=False) == [4]
    assert ids(job="j") == [4, 3, 1]  # a breakage without jobs covers every job
    assert ids(job="j", ongoing=True) == [3, 1]
    assert b.list_breakages(limit=10).next_cursor is None


# -- the failed runs a classification reads ----------------------------------------------------


def put(store: Store, job: str, run_id: str, status: RunStatus, payload: str | None,
        started: datetime | None) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=status, payload=payload,
                          started_at=started))


def test_failed_runs_with_filters_order_and_same_payload_passes(store: Store) -> None:
    F, S = RunStatus.FAILURE, RunStatus.SUCCESS
    put(store, "j", "1", F, "p", T0)
    put(store, "j", "2", S, "p", T0 + timedelta(minutes=1))
    put(store, "j", "3", F, "q", T0 + timedelta(hours=2))
    put(store, "k", "1", F, "p", T0 + timedelta(hours=1))
    put(store, "k", "2", RunStatus.ERROR, "p", T0)
    put(store, "k", "3", F, None, T0 + timedelta(hours=3))
    put(store, "m", "1", S, "p", T0)  # another job's pass explains nothing
    b = store.breakages

    def keys(payload: str | None = None, job: str | None = None,
             since: datetime | None = None) -> list[tuple[str, str, bool]]:
        return [(r.job, r.run_id, r.passed_on_payload)
                for r in b.failed_runs(payload=payload, job=job, since=since, limit=10)]

    assert keys() == [("k", "3", False), ("j", "3", False), ("k", "1", False),
                      ("j", "1", True)]
    assert keys(payload="p") == [("k", "1", False), ("j", "1", True)]
    assert keys(job="j") == [("j", "3", False), ("j", "1", True)]
    assert keys(since=T0 + timedelta(hours=1)) == [("k", "3", False), ("j", "3", False),
                                                   ("k", "1", False)]
    assert [r.run_id for r in b.failed_runs(limit=1)] == ["3"]
    first = b.failed_runs(payload="p", job="j", limit=5)[0]
    assert (first.payload, first.at) == ("p", T0)
