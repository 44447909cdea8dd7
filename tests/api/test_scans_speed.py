"""Incremental scans do only the work a new pattern needs (issue 13, scan speed): logs of steps
the pattern does not apply to are recorded without reading their text, texts are read in
bounded batches, and either way the same matches and records result."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from api.domain import RunSpec, RunStatus
from api.failures.model import PatternSyntax
from api.services import scans
from api.store import Store, open_store
from api.store.logs import LogKey
from api.store.patterns import PatternDraft, ScanKind, ScanState
from api.store.scan_pages import ScanItem

LOG = "setup\nKilled\ndone\n"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


@pytest.fixture
def reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[list[LogKey]]:
    """The keys of every text a scan reads (``scan_pages.texts``), call by call."""
    calls: list[list[LogKey]] = []
    real = store.scan_pages.texts

    def spy(items: Sequence[ScanItem]) -> list[bytes | None]:
        calls.append([(i.job, i.run_id, i.step) for i in items])
        return real(items)

    monkeypatch.setattr(store.scan_pages, "texts", spy)
    return calls


def history(store: Store, runs: int) -> None:
    for i in range(runs):
        store.put_run(RunSpec(job="j", run_id=f"{i:03d}", status=RunStatus.FAILURE))
        for step in ("build", "test"):
            store.logs.put_log("j", f"{i:03d}", step, LOG)


def backfill(store: Store, draft: PatternDraft) -> tuple[int, int, int]:
    pattern = store.patterns.create_pattern(draft, actor="t")
    scans.queue_backfill(store, pattern, actor="t")
    [done] = scans.run_open_scans(store, holder="t")
    assert done.state is ScanState.DONE
    return pattern.id, done.logs_scanned, done.matches


def test_a_step_pattern_reads_only_its_steps_texts_and_records_every_log(
        store: Store, reads: list[list[LogKey]]) -> None:
    history(store, 5)
    pid, scanned, found = backfill(store, PatternDraft("Killed", PatternSyntax.LITERAL,
                                                       steps=("test",)))
    assert (scanned, found) == (10, 5)
    assert sorted(key for call in reads for key in call) == [
        ("j", f"{i:03d}", "test") for i in range(5)]
    keys = [(f"{i:03d}", step) for i in range(5) for step in ("build", "test")]
    assert store.patterns.applied_versions("j", keys, [pid]) == {k: {pid: 1} for k in keys}
    # Nothing is pending any more: a rescan reads no text.
    reads.clear()
    record, _ = store.patterns.add_scan(ScanKind.RESCAN, actor="t")
    done = scans.run_scan(store, record.id, holder="t")
    assert done is not None and (done.logs_scanned, reads) == (0, [])


def test_texts_are_read_in_bounded_batches_with_the_same_outcome(
        store: Store, reads: list[list[LogKey]], monkeypatch: pytest.MonkeyPatch) -> None:
    history(store, 6)
    monkeypatch.setattr(scans, "TEXT_BATCH_BYTES", 2 * len(LOG))
    pid, scanned, found = backfill(store, PatternDraft("Killed", PatternSyntax.LITERAL))
    assert (scanned, found) == (12, 12)
    assert [len(call) for call in reads] == [2] * 6
    matches = store.patterns.run_matches("j", [f"{i:03d}" for i in range(6)])
    assert {(m.step, m.line.pattern_id, m.line.line_number)
            for found_in_run in matches.values() for m in found_in_run} == {
        ("build", pid, 2), ("test", pid, 2)}
