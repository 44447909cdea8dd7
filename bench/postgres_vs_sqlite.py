"""The PostgreSQL store against SQLite on the same machine, in one run (issue 16).

  (a) ingest of the real 7,353-testcase JUnit file through the service layer (target: PG at
      most 2x SQLite);
  (b) verdict for 3 jobs x 10 runs x TESTS tests against baselines of HISTORY runs (target:
      median at most 150 ms on PG), and one baseline computation over HISTORY runs x TESTS
      tests (target at most 10 s);
  (c) bytes per stored result at SIZE_RUNS x SIZE_TESTS results (pg_total_relation_size of
      the results table / rows; target at most 60 B), beside SQLite's file bytes per result.

PostgreSQL is the test suite's throwaway server (tests/postgres_server.py: Debian's binaries,
a temporary cluster on a free loopback port, fsync off as in the tests).

    python bench/postgres_vs_sqlite.py [--repeat 9] [--history-runs 1000] [--tests 5000]
        [--size-runs 200] [--size-tests 5000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import FIXTURE, bytes_per_result, ingest_ms  # noqa: E402
from verdict import JOBS, PAYLOAD, build  # noqa: E402

from api.domain import RunSpec, RunStatus  # noqa: E402
from api.services import baselines, verdicts  # noqa: E402
from api.store import Store, open_store  # noqa: E402
from tests.postgres_server import shared_postgres  # noqa: E402


def verdict_figures(url: str, history_runs: int, tests: int, repeat: int) -> tuple[float, float]:
    """(median verdict ms with the cache off, median baseline seconds over the 3 jobs)."""
    build(url, history_runs, tests)
    store: Store = open_store(url)
    try:
        seconds = []
        for job in JOBS:
            began = time.perf_counter()
            baselines.compute(store, job, window_days=3650, max_runs=history_runs)
            seconds.append(time.perf_counter() - began)
        samples = []
        for index in range(repeat + 2):
            began = time.perf_counter()
            verdicts.judge_payload(store, PAYLOAD, cache=None)
            if index >= 2:  # the first calls warm caches and numpy's code paths
                samples.append((time.perf_counter() - began) * 1000)
        return statistics.median(samples), statistics.median(seconds)
    finally:
        store.close()


def pg_bytes_per_result(url: str, runs: int, tests: int, workdir: Path) -> tuple[float, float]:
    """(results table bytes per row, results + messages + informing bytes per row)."""
    # bytes_per_result fills an SQLite file; the same rows are copied here through the store.
    sqlite_figure = bytes_per_result(workdir, runs, tests)
    source = open_store(f"sqlite://{workdir / 'size.db'}")
    target = open_store(url)
    target.migrate()
    for run in range(runs):
        spec = source.get_run("size", str(run))
        assert spec is not None
        target.put_run(RunSpec(job="size", run_id=str(run), status=RunStatus.SUCCESS),
                       source.get_run_tests("size", str(run)))
    source.close()
    raw = target.connection  # type: ignore[attr-defined]
    raw.execute("VACUUM ANALYZE results")
    (rows,) = raw.execute("SELECT count(*) FROM results").fetchone()
    (alone,) = raw.execute("SELECT pg_total_relation_size('results')").fetchone()
    (together,) = raw.execute(
        "SELECT pg_total_relation_size('results') + pg_total_relation_size('messages')"
        " + pg_total_relation_size('informing')").fetchone()
    target.close()
    print(f"| SQLite file bytes per result (same rows) | {sqlite_figure:.1f} B | |")
    return alone / rows, together / rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--history-runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--size-runs", type=int, default=200)
    parser.add_argument("--size-tests", type=int, default=5000)
    args = parser.parse_args()
    data = FIXTURE.read_bytes()
    server = shared_postgres()
    print("| measurement | SQLite | PostgreSQL | ratio PG/SQLite | target |")
    print("|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="flakegate-pg-bench-") as tmp:
        work = Path(tmp)
        lite = ingest_ms(f"sqlite://{work / 'ingest.db'}", data, args.repeat)
        pg = ingest_ms(server.fresh_url(), data, args.repeat)
        print(f"| ingest of the 7,353-case file (median of {args.repeat}) | {lite:.0f} ms |"
              f" {pg:.0f} ms | {pg / lite:.2f} | <= 2 |", flush=True)
        lite_v, lite_b = verdict_figures(f"sqlite://{work / 'verdict.db'}", args.history_runs,
                                         args.tests, args.repeat)
        pg_v, pg_b = verdict_figures(server.fresh_url(), args.history_runs, args.tests,
                                     args.repeat)
        size = (f"{len(JOBS)} jobs x 10 runs x {args.tests} tests,"
                f" {args.history_runs}-run baselines")
        print(f"| verdict, cache off ({size}) | {lite_v:.0f} ms | {pg_v:.0f} ms |"
              f" {pg_v / lite_v:.2f} | PG <= 150 ms |")
        print(f"| baseline, {args.history_runs} runs x {args.tests} tests (median of 3) |"
              f" {lite_b:.2f} s | {pg_b:.2f} s | {pg_b / lite_b:.2f} | PG <= 10 s |", flush=True)
        size_dir = work / "size"
        size_dir.mkdir()
        alone, together = pg_bytes_per_result(server.fresh_url(), args.size_runs,
                                              args.size_tests, size_dir)
        print(f"| PG bytes per result, results table ({args.size_runs} x {args.size_tests}) |"
              f" | {alone:.1f} B | | <= 60 B |")
        print(f"| PG bytes per result, results + messages + informing | | {together:.1f} B | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
