"""Scans: on arrival, backfills of new and edited pattern versions, resumable under a lease,
rescans on demand, the passing-run sample (run synchronously, as the schedule thread would)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.domain import RunSpec, RunStatus
from api.failures.model import PatternSyntax
from api.services import scans
from api.store import Store, open_store
from api.store.patterns import PatternDraft, ScanState
from tests.conftest import ApiClient

OOM_LOG = "step 1\nstep 2\nKilled\nexit code 137\n"
KILLED = PatternDraft("Killed", PatternSyntax.LITERAL)
NET_LOG = "apt-get update\nTemporary failure resolving 'deb.debian.org'\nE: failed\n"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


def put_log(store: Store, job: str, run_id: str, text: str, *, step: str = "build",
            status: RunStatus = RunStatus.FAILURE) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=status))
    store.logs.put_log(job, run_id, step, text)


def lines(store: Store, job: str, run_id: str) -> list[tuple[int, int, int]]:
    found = store.patterns.run_matches(job, [run_id]).get(run_id, [])
    return [(m.line.pattern_id, m.line.pattern_version, m.line.line_number) for m in found]


def test_a_log_is_scanned_when_it_arrives_over_http(api: ApiClient, store: Store) -> None:
    pid = api.post("/patterns", json={"expression": "Killed"}).json["id"]  # type: ignore[index]
    api.put("/jobs/j/runs/1", json={"status": "failure"})
    stored = api.put("/jobs/j/runs/1/logs/build", data=OOM_LOG,
                     headers={"Content-Type": "text/plain"})
    assert stored.status_code in (200, 201), stored.json
    assert lines(store, "j", "1") == [(pid, 1, 3)]


def test_a_new_pattern_and_an_edit_are_backfilled_over_the_history(api: ApiClient,
                                                                   store: Store) -> None:
    for i in range(5):
        put_log(store, "j", str(i), OOM_LOG if i % 2 == 0 else NET_LOG)
    pid = api.post("/patterns", json={"expression": "Killed"}).json["id"]  # type: ignore[index]
    assert lines(store, "j", "0") == []  # not until the backfill runs
    done = scans.run_open_scans(store, holder="t")
    assert [(s.state, s.logs_scanned, s.matches) for s in done] == [(ScanState.DONE, 5, 3)]
    assert [lines(store, "j", str(i)) for i in range(3)] == [[(pid, 1, 3)], [], [(pid, 1, 3)]]
    # The edit's version replaces version 1's matches; only it is applied the second time.
    api.request("PATCH", f"/patterns/{pid}", json={"expression": "exit code 137"})
    done = scans.run_open_scans(store, holder="t")
    assert [(s.pattern_version, s.logs_scanned, s.matches) for s in done] == [(2, 5, 3)]
    assert lines(store, "j", "0") == [(pid, 2, 4)]
    assert scans.run_open_scans(store, holder="t") == []  # nothing left to do


def test_a_scan_resumes_from_its_cursor_and_is_held_by_one_worker(store: Store) -> None:
    for i in range(7):
        put_log(store, "j", f"{i:02d}", OOM_LOG)
    record = scans.queue_rescan(store, since=None, job=None, actor="t")
    assert store.acquire_lease(f"scan:{record.id}", "other-worker", 60)
    held = scans.run_scan(store, record.id, holder="me", page=2)
    assert held is not None and held.state is ScanState.QUEUED  # left to its holder
    store.release_lease(f"scan:{record.id}", "other-worker")
    store.patterns.create_pattern(KILLED, actor="t")  # the live set is read per page
    first = scans.run_scan(store, record.id, holder="me", page=2, budget_s=0)
    assert first is not None and first.state is ScanState.RUNNING
    assert first.logs_scanned == 2 and first.cursor is not None
    # Another worker picks it up where it stopped (the first one died, say).
    rest = scans.run_scan(store, record.id, holder="you", page=2)
    assert rest is not None and rest.state is ScanState.DONE
    assert (rest.logs_scanned, rest.matches) == (7, 7)
    again = scans.run_scan(store, record.id, holder="you")
    assert again is not None and again.logs_scanned == 7  # a done scan stays done


def test_passing_runs_are_sampled(store: Store) -> None:
    store.patterns.create_pattern(KILLED, actor="t")
    for i in range(40):
        put_log(store, "j", str(i), OOM_LOG, status=RunStatus.SUCCESS)
    put_log(store, "j", "failed", OOM_LOG)
    none = scans.queue_rescan(store, since=None, job=None, actor="t")
    assert scans.run_scan(store, none.id, holder="t", passing_every=0).logs_scanned == 1  # type: ignore[union-attr]
    some = scans.queue_rescan(store, since=None, job=None, actor="t")
    sampled = scans.run_scan(store, some.id, holder="t", passing_every=4).logs_scanned  # type: ignore[union-attr]
    assert 3 <= sampled <= 20  # about one in four of 40, the same ones every time
    chosen = [str(i) for i in range(40)
              if scans.scans_log("j", str(i), RunStatus.SUCCESS, 4)]
    assert len(chosen) == sampled
    every = scans.queue_rescan(store, since=None, job=None, actor="t")
    assert scans.run_scan(store, every.id, holder="t",  # type: ignore[union-attr]
                          passing_every=1).logs_scanned == 40 - sampled


def test_post_scans_runs_on_demand_for_one_job(api: ApiClient, store: Store) -> None:
    put_log(store, "a", "1", OOM_LOG)
    put_log(store, "b", "1", OOM_LOG)
    # Created in the store directly: no backfill queued, so only the rescan applies it.
    store.patterns.create_pattern(KILLED, actor="t")
    scan_id = api.post("/scans", json={"since": "1d", "job": "a"}).json["id"]  # type: ignore[index]
    scans.run_open_scans(store, holder="t")
    got = api.get(f"/scans/{scan_id}").json
    assert got is not None and (got["state"], got["logs_scanned"], got["matches"]) == (
        "done", 1, 1)
    assert lines(store, "b", "1") == []
