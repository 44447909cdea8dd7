"""Incremental scan benchmark (issue 13): add one pattern to a scanned history.

A history of ``--runs`` failed runs (one small realistic log each, from ``bench/log_corpus.py``)
is stored in SQLite and scanned with the 100 curated patterns. Then one pattern is added and
its backfill runs (the server's background scan, :func:`api.services.scans.run_scan`): it
applies that pattern only. The reference, measured in the same run on the same store, is a full
rescan of all 101 patterns (the scan records cleared first, as a scanner without them must
rescan). Target: the incremental scan takes at most 1/20 of the full rescan. The floor of any
scan that must look at every log, reading and inflating every text through the store (its walk
and ``get_texts``, no scanning, no writing), is measured in the same run too, and so is the
same through the scan pages a backfill reads (its walk, applied versions and texts in one
query per job).

    python bench/scan_incremental.py [--runs 10000] [--log-size 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import log_corpus  # noqa: E402

from api.domain import RunSpec, RunStatus  # noqa: E402
from api.failures.model import PatternSyntax  # noqa: E402
from api.services import scans  # noqa: E402
from api.store import Store, open_store  # noqa: E402
from api.store.patterns import PatternDraft, ScanKind  # noqa: E402
from api.store.sqlite.store import SqliteStore  # noqa: E402

NEW_PATTERN = PatternDraft("etcdserver: request timed out", PatternSyntax.LITERAL,
                           tags=("infra",), specificity=4)


def build(store: Store, runs: int, log_size: int) -> int:
    """Store ``runs`` failed runs with one log each; returns the log bytes stored."""
    stored, index = 0, 0
    for log in log_corpus.generate(runs * 2, log_size, seed=7, truth=False):
        if log.status != "failure":
            continue
        run_id = f"{index:06d}"
        store.put_run(RunSpec(job=log.job, run_id=run_id, status=RunStatus.FAILURE))
        text = log_corpus.ANSI.sub("", log.text)
        store.logs.put_log(log.job, run_id, log.step, text)
        stored += len(text.encode())
        index += 1
        if index == runs:
            break
    return stored


def timed_scan(store: Store, kind: ScanKind, **fields: object) -> tuple[float, int, int]:
    record, _ = store.patterns.add_scan(kind, actor="bench", **fields)  # type: ignore[arg-type]
    started = time.perf_counter()
    done = scans.run_scan(store, record.id, holder="bench", passing_every=0)
    elapsed = time.perf_counter() - started
    assert done is not None and done.state.value == "done", done
    return elapsed, done.logs_scanned, done.matches


def read_everything(store: Store) -> float:
    """Seconds to walk every log and read and inflate its text, a page at a time."""
    started = time.perf_counter()
    cursor: str | None = None
    while True:
        page = store.logs.logs_page(after=cursor, limit=scans.PAGE)
        store.logs.get_texts([(ref.job, ref.run_id, ref.step) for ref in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return time.perf_counter() - started


def read_scan_pages(store: Store, versions: dict[int, int]) -> float:
    """Seconds to walk every log through the scan pages a backfill reads (:mod:`api.store.
    scan_pages`: walk, applied versions and texts in one query per job) and inflate its text."""
    started = time.perf_counter()
    cursor: str | None = None
    while True:
        page = store.scan_pages.scan_page(versions=versions, after=cursor, limit=scans.PAGE,
                                          max_bytes=scans.TEXT_BATCH_BYTES)
        store.scan_pages.texts(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--log-size", type=int, default=2000, help="characters per log")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best time counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite://{Path(tmp) / 'bench.db'}")
        assert isinstance(store, SqliteStore)
        store.migrate()
        started = time.perf_counter()
        size = build(store, args.runs, args.log_size)
        print(f"history: {args.runs} failed runs, {size / 2**20:.1f} MiB of logs"
              f" (stored in {time.perf_counter() - started:.1f} s)")
        for fields in log_corpus.patterns():
            store.patterns.create_pattern(PatternDraft(
                expression=str(fields["expression"]), syntax=PatternSyntax(fields["syntax"]),
                tags=tuple(fields["tags"]),  # type: ignore[arg-type]
                steps=tuple(fields["steps"]),  # type: ignore[arg-type]
                specificity=int(fields["specificity"]),  # type: ignore[call-overload]
                lines_from_end=fields["lines_from_end"]),  # type: ignore[arg-type]
                actor="bench")
        first, logs, found = timed_scan(store, ScanKind.RESCAN)
        print(f"first scan, 100 patterns: {first:.2f} s, {logs} logs, {found} matches")

        # Each round: the new pattern's next version is backfilled (the first round adds it;
        # an edit rescans every log with that one pattern just the same), then the reference,
        # what a scanner without per-log records must do: every pattern again (the records
        # cleared first). The machine may be shared, so each is the best of --repeat rounds.
        added = store.patterns.create_pattern(NEW_PATTERN, actor="bench")
        incremental = full = float("inf")
        for round_ in range(max(1, args.repeat)):
            if round_:
                added, _ = store.patterns.edit_pattern(added.id, replace(
                    NEW_PATTERN, description=f"round {round_}"), actor="bench")
            took, logs, found = timed_scan(store, ScanKind.BACKFILL, pattern_id=added.id,
                                           pattern_version=added.version)
            incremental = min(incremental, took)
            with store.db.write() as tx:
                tx.conn.execute("DELETE FROM matches")
                tx.conn.execute("DELETE FROM log_scans")
            took, full_logs, full_found = timed_scan(store, ScanKind.RESCAN)
            full = min(full, took)
        best = f" (best of {max(1, args.repeat)})"
        print(f"incremental, 1 new pattern: {incremental:.3f} s, {logs} logs, {found} matches"
              + best)
        print(f"full rescan, 101 patterns: {full:.2f} s, {full_logs} logs, {full_found} matches"
              + best)
        print(f"ratio incremental/full: 1/{full / incremental:.1f} (target <= 1/20)")
        floor = read_everything(store)
        print(f"floor, read and inflate every log: {floor:.3f} s, 1/{full / floor:.1f} of the"
              " full rescan")
        # What a backfill itself reads: the logs it must scan, with their texts, in one query
        # per job (the pattern's records are cleared first, so every log needs its text).
        with store.db.write() as tx:
            tx.conn.execute("DELETE FROM log_scans WHERE pattern_id = ?", (added.id,))
        fused = read_scan_pages(store, {added.id: added.version})
        print(f"floor through scan pages: {fused:.3f} s, 1/{full / fused:.1f} of the full"
              " rescan")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
