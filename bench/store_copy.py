"""``flakegate db copy`` benchmark: time and peak memory of copying N results between stores.

Measured in one run, so the ratio compares like with like on this machine:
  (a) the reference: writing the history through the store's own write path (``put_run`` of
      RUNS runs x TESTS tests into a fresh SQLite file), which is what the copy replaces;
  (b) ``flakegate db copy --from <that file> --to TARGET`` as a subprocess (export, import,
      progress, verification), with its peak RSS (``getrusage`` of the child).

    python bench/store_copy.py [--runs 200] [--tests 5000] [--to URL]

``--to`` is the target (default: a new SQLite file beside the source); it must be empty.
``--postgres`` starts a PostgreSQL server for the run and copies into it.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.domain import RunSpec, RunStatus, TestResult, TestStatus  # noqa: E402
from api.store import open_store  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def build(url: str, runs: int, tests: int) -> float:
    """Write the history through put_run; returns the seconds it took."""
    store = open_store(url)
    store.migrate()
    statuses = (TestStatus.PASSED,) * 30 + (TestStatus.FAILED, TestStatus.SKIPPED)
    started = time.perf_counter()
    for run in range(runs):
        results = [TestResult(f"test {k} of the conformance suite", f"suite-{k % 40}",
                              statuses[(run * 7 + k) % len(statuses)], duration_s=k % 97 / 10,
                              message="timed out" if (run * 7 + k) % len(statuses) == 30
                              else None)
                   for k in range(tests)]
        store.put_run(RunSpec(job=f"job-{run % 3}", run_id=str(run), status=RunStatus.SUCCESS,
                              payload=f"p{run // 3}", started_at=T0 + timedelta(minutes=run)),
                      results)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--to", default=None, metavar="URL", help="an empty target store")
    parser.add_argument("--postgres", action="store_true",
                        help="copy into a fresh schema of a PostgreSQL started for the run"
                             " (tests/postgres_server.py)")
    args = parser.parse_args()
    if args.postgres:
        from tests.postgres_server import shared_postgres

        args.to = shared_postgres().fresh_url()
    with tempfile.TemporaryDirectory(prefix="flakegate-copy-") as tmp:
        source = f"sqlite://{Path(tmp) / 'source.db'}"
        target = args.to or f"sqlite://{Path(tmp) / 'target.db'}"
        results = args.runs * args.tests
        print(f"history: {args.runs} runs x {args.tests} tests = {results:,} results")
        ingest = build(source, args.runs, args.tests)
        print(f"(a) put_run into SQLite:  {ingest:8.1f} s  ({results / ingest:,.0f} results/s)")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "client.cli", "db", "copy", "--from",
                               source, "--to", target], cwd=ROOT, capture_output=True,
                              text=True)
        copy = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mib = child.ru_maxrss / 1024
        # CPU seconds too: on a shared machine the wall time also counts other jobs' turns.
        print(f"(b) db copy -> {target.split(':', 1)[0]}:  {copy:8.1f} s  "
              f"({results / copy:,.0f} results/s), copy process CPU "
              f"{child.ru_utime + child.ru_stime:.1f} s, peak RSS {peak_mib:.0f} MiB, verified")
        print(f"ratio copy/put_run: {copy / ingest:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
