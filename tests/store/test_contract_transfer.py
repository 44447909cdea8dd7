"""The transfer part's contract (api/store/transfer.py) on every backend: ordered, batched
export; idempotent import in table order; copy progress kept in the target."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from api.pages_urls import key_for_test
from api.store import NotFound, Store, open_store
from api.store.transfer import TABLES, Progress
from tests.transfer_history import build_history, import_all, read_all, snapshot


@pytest.fixture
def peer(tmp_path: Path) -> Store:
    """A second, SQLite store beside the backend under test."""
    other = open_store(f"sqlite://{tmp_path / 'peer.db'}")
    other.migrate()
    yield other
    other.close()


def test_an_empty_store_exports_nothing(store: Store) -> None:
    for table in TABLES:
        assert store.transfer.export_rows(table.name, None, 5) == ([], None)


def test_paging_yields_every_row_once_whatever_the_batch(store: Store) -> None:
    build_history(store)
    for table in ("runs", "results", "audit", "baseline_tests", "tokens"):
        whole = read_all(store, table)
        assert whole, table
        assert read_all(store, table, limit=1) == whole
        assert read_all(store, table, limit=7) == whole


def test_import_then_export_gives_the_same_rows_both_ways(store: Store, peer: Store) -> None:
    build_history(peer)
    import_all(peer, store)
    assert snapshot(store) == snapshot(peer)
    assert all(snapshot(peer)[t] for t in ("jobs", "runs", "results", "baselines",
                                          "baseline_tests", "baseline_runs", "audit",
                                          "tokens", "crawl_records", "logs", "patterns",
                                          "pattern_versions", "breakages"))


def test_reimporting_a_batch_changes_nothing(store: Store, peer: Store) -> None:
    build_history(peer)
    import_all(peer, store)
    before = snapshot(store)
    for table in TABLES:
        rows = read_all(peer, table.name)
        assert store.transfer.import_rows(table.name, rows) == 0, table.name
    assert snapshot(store) == before


def test_the_copy_serves_what_the_source_served(store: Store, peer: Store) -> None:
    build_history(peer)
    import_all(peer, store)
    for job in ("e2e", "unit"):
        assert store.get_job(job) == peer.get_job(job)
        assert store.list_runs(job, limit=50).items == peer.list_runs(job, limit=50).items
        assert store.list_audit(job, limit=50).items == peer.list_audit(job, limit=50).items
    assert store.get_run_tests("e2e", "r4") == peer.get_run_tests("e2e", "r4")
    assert store.get_baseline("e2e") == peer.get_baseline("e2e")
    assert store.baseline_tests("e2e", 1) == peer.baseline_tests("e2e", 1)
    assert store.baseline_run_ids("e2e", 1) == peer.baseline_run_ids("e2e", 1)
    assert store.list_tokens(limit=10).items == peer.list_tokens(limit=10).items
    assert store.get_payload("p1") == peer.get_payload("p1")
    assert store.logs.get_log("e2e", "r0", "build") == peer.logs.get_log("e2e", "r0", "build")


def test_work_arrives_unclaimed_and_publications_whole(store: Store, peer: Store) -> None:
    build_history(peer)
    import_all(peer, store)
    source = {i.key: i for i in peer.work.list_work(limit=10).items}
    copied = {i.key: i for i in store.work.list_work(limit=10).items}
    assert source.keys() == copied.keys() == {"done", "dead", "claimed"}
    assert source["claimed"].holder == "w0" and source["claimed"].lease_until is not None
    for key, item in source.items():
        unclaimed = replace(item, holder=None, lease_until=None)
        assert copied[key] == unclaimed, key
    assert copied["dead"].error == "HTTP 422"
    # The target's workers can take the item a source process held when the copy ran.
    taken = store.work.claim("w1", 60.0)
    assert taken is not None and taken.key == "claimed"
    targets = ["comment:7", "check:abc"]
    assert store.github.publications("org/repo", targets) == \
        peer.github.publications("org/repo", targets)


def test_copied_tests_are_found_by_their_page_key(store: Store, peer: Store) -> None:
    build_history(peer)
    import_all(peer, store)
    key = key_for_test("suite", "t3")
    assert store.page_reads.find_test("e2e", key) == peer.page_reads.find_test("e2e", key)
    assert store.page_reads.find_test("e2e", key) is not None
    mine = store.page_reads.test_history("e2e", key, limit=10)
    theirs = peer.page_reads.test_history("e2e", key, limit=10)
    assert mine.items == theirs.items and len(mine.items) == 6


def test_rows_of_a_missing_parent_are_refused(store: Store, peer: Store) -> None:
    build_history(peer)
    with pytest.raises(NotFound):
        store.transfer.import_rows("results", read_all(peer, "results")[:3])
    assert store.transfer.export_rows("results", None, 5) == ([], None)


def test_progress_is_kept_and_is_no_data(store: Store) -> None:
    assert store.transfer.load_progress() is None
    store.transfer.save_progress("c1", "sqlite:///a.db", Progress("jobs", None, 3, True))
    store.transfer.save_progress("c1", "sqlite:///a.db", Progress("runs", '["x"]', 10, False))
    store.transfer.save_progress("c1", "sqlite:///a.db", Progress("runs", '["y"]', 20, False))
    copying = store.transfer.load_progress()
    assert copying is not None and (copying.copy_id, copying.source) == ("c1", "sqlite:///a.db")
    assert copying.tables == {"jobs": Progress("jobs", None, 3, True),
                              "runs": Progress("runs", '["y"]', 20, False)}
    for table in TABLES:
        assert store.transfer.export_rows(table.name, None, 1) == ([], None)
