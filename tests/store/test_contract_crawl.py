"""The store contract for the pull crawler's ledger (every backend runs it)."""

from __future__ import annotations

import pytest

from api.store import CrawlRecord, CrawlState, InvalidCursor, Store

from .test_contract import every_page

SOURCE = "gs://kubernetes-jenkins/logs/ci-e2e"


def record(build: str, state: CrawlState = CrawlState.DONE, **fields: object) -> CrawlRecord:
    return CrawlRecord(source=SOURCE, build=f"{SOURCE}/{build}", state=state, **fields)


def test_put_then_get_only_what_is_known(store: Store) -> None:
    store.put_crawl_records([record("1"), record("2", CrawlState.UNFINISHED)])
    known = store.get_crawl_records(SOURCE, [f"{SOURCE}/1", f"{SOURCE}/2", f"{SOURCE}/3"])
    assert set(known) == {f"{SOURCE}/1", f"{SOURCE}/2"}
    assert known[f"{SOURCE}/2"].state is CrawlState.UNFINISHED
    assert known[f"{SOURCE}/1"].first_seen is not None
    assert store.get_crawl_records("other", [f"{SOURCE}/1"]) == {}
    assert store.get_crawl_records(SOURCE, []) == {}


def test_upsert_keeps_first_seen_and_updates_the_rest(store: Store) -> None:
    store.put_crawl_records([record("1", CrawlState.UNFINISHED)])
    first = store.get_crawl_records(SOURCE, [f"{SOURCE}/1"])[f"{SOURCE}/1"]
    store.put_crawl_records([record("1", CrawlState.FAILED, attempts=2, reason="bad junit",
                                    job="ci-e2e", run_id="1")])
    again = store.get_crawl_records(SOURCE, [f"{SOURCE}/1"])[f"{SOURCE}/1"]
    assert again.first_seen == first.first_seen
    assert (again.state, again.attempts, again.reason) == (CrawlState.FAILED, 2, "bad junit")
    assert (again.job, again.run_id) == ("ci-e2e", "1")
    assert again.updated_at is not None and again.updated_at >= first.updated_at


def test_list_by_state_in_build_order(store: Store) -> None:
    store.put_crawl_records([record(f"{n:03d}", CrawlState.DONE if n % 2 else
                                    CrawlState.UNFINISHED) for n in range(7)])
    every = every_page(lambda cursor: store.list_crawl_records(SOURCE, limit=2, cursor=cursor))
    assert [r.build[-3:] for r in every] == [f"{n:03d}" for n in range(7)]
    unfinished = every_page(lambda cursor: store.list_crawl_records(
        SOURCE, state=CrawlState.UNFINISHED, limit=3, cursor=cursor))
    assert [r.build[-3:] for r in unfinished] == ["000", "002", "004", "006"]
    with pytest.raises(InvalidCursor):
        store.list_crawl_records(SOURCE, limit=2, cursor="nope")
