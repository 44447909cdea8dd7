"""BigQuery run writes: load jobs per 1,000 run writes, before and after the Storage Write API.

BigQuery allows 1,500 load jobs per table per day. Before, every run write with tests was one
load job into ``results`` (``FLAKEGATE_BIGQUERY_WRITES=load`` still does that); now it is one
committed PENDING write stream. Both are measured in one run on the local emulator, the same
workload on two fresh datasets: ``--runs`` writes of ``--tests`` results each, three new runs
for every one whose tests are replaced. Counted by wrapping the store's clients (and checked
against the jobs the emulator recorded): load jobs, write streams, query/DML jobs.

    python bench/bigquery_writes.py [--runs 200] [--tests 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.domain import RunSpec, RunStatus, TestResult, TestStatus  # noqa: E402
from api.store import open_store  # noqa: E402
from api.store.bigquery import BigQueryStore  # noqa: E402
from tests.bigquery.emulator import Emulator  # noqa: E402

QUOTA = 1_500  # load jobs per table per day
ALL = 10**7  # jobs to list: the emulator answers one page of at most this many


class Counting:
    """Forwards to a client and counts the calls of each method."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if not callable(method):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


def tests_for(write: int, count: int) -> list[TestResult]:
    """``count`` results; which ones fail depends on the write, so a replacement differs."""
    failing = write % min(count, 50)
    return [TestResult(f"[sig-{i % 13}] test {i:05d} should work", "e2e",
                       TestStatus.FAILED if i % 50 == failing else TestStatus.PASSED,
                       0.5 + i % 7, "timed out" if i % 50 == failing else None)
            for i in range(count)]


def measure(emulator: Emulator, mode: str, runs: int, tests: int) -> dict[str, float]:
    os.environ["FLAKEGATE_BIGQUERY_WRITES"] = mode
    dataset = f"bench_{mode}_{uuid.uuid4().hex[:8]}"
    store = open_store(f"bigquery://{emulator.project}/{dataset}")
    assert isinstance(store, BigQueryStore)
    store.migrate()
    conn = store._conn
    rest, grpc = Counting(conn.client), Counting(conn.streams.client)
    conn.client, conn.streams._client = rest, grpc
    started_jobs = {job.job_id for job in rest.client.list_jobs(max_results=ALL)}
    samples = []
    created = replaced = 0
    for write in range(runs):
        # Every fourth write replaces the tests of the run written just before it.
        run_id = str(write - 1) if write % 4 == 3 else str(write)
        started = time.perf_counter()
        store.put_run(RunSpec("bench", run_id, RunStatus.SUCCESS), tests_for(write, tests))
        samples.append(time.perf_counter() - started)
        replaced += write % 4 == 3
        created += write % 4 != 3
    loads = rest.calls.get("load_table_from_file", 0)
    streams = grpc.calls.get("create_write_stream", 0)
    queries = rest.calls.get("query_and_wait", 0)
    recorded = sum(1 for job in rest.client.list_jobs(max_results=ALL)
                   if job.job_id not in started_jobs and job.job_type == "load")
    if recorded != loads:
        raise SystemExit(f"{mode}: the emulator recorded {recorded} load jobs, we counted {loads}")
    listed = store.list_runs("bench", limit=1000).items
    if len(listed) != created or any(run.counts.total != tests for run in listed):
        raise SystemExit(f"{mode}: {len(listed)} runs stored, {created} written")
    return {"writes": runs, "created": created, "replaced": replaced, "loads": loads,
            "streams": streams, "queries": queries,
            "median_ms": statistics.median(samples) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--tests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flakegate-bench-") as tmp, \
            Emulator(Path(tmp) / "bqemulator.log") as emulator:
        os.environ.update(emulator.environ())
        before = measure(emulator, "load", args.runs, args.tests)
        after = measure(emulator, "storage", args.runs, args.tests)
    print(f"run writes: {args.runs} ({before['created']:.0f} new runs, "
          f"{before['replaced']:.0f} replacing a run's tests), {args.tests} results each")
    print(f"{'':28}{'load jobs':>10}{'per 1,000':>11}{'streams':>9}{'queries':>9}"
          f"{'ms/write':>10}")
    for label, row in (("before (one load job/write)", before),
                       ("after (Storage Write API)", after)):
        print(f"{label:28}{row['loads']:>10.0f}{row['loads'] * 1000 / row['writes']:>11.1f}"
              f"{row['streams']:>9.0f}{row['queries']:>9.0f}{row['median_ms']:>10.0f}")
    per_day = 30_000
    print(f"at {per_day:,} run writes a day: {before['loads'] * per_day / args.runs:,.0f} load jobs"
          f" into results before (quota {QUOTA:,}/table/day), "
          f"{after['loads'] * per_day / args.runs:,.0f} after")
    print(f"ratio after/before: load jobs {after['loads'] / max(before['loads'], 1):.3f}, "
          f"median latency {after['median_ms'] / before['median_ms']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
