"""Verdict and baseline performance on the embedded store.

A payload with 3 jobs x 10 runs x 5,000 tests, judged against stored baselines built from
1,000 runs x 5,000 tests per job (15 million stored results in all). Targets (issue 3): the
verdict in at most 100 ms median (cache off), one baseline computation in at most 10 s with at
most 1 GiB peak memory.

The baseline computation runs in a fresh child process, so its peak resident memory
(``ru_maxrss``, interpreter and numpy/scipy included) is the figure a server worker would see.

    python bench/verdict.py [--history-runs 1000] [--tests 5000] [--repeat 15] [--db PATH]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.domain import JobSpec, Payload, RunSpec, RunStatus, TestResult, TestStatus  # noqa: E402
from api.services import verdicts  # noqa: E402
from api.store import open_store  # noqa: E402

JOBS = ("e2e-aws", "e2e-gcp", "e2e-metal")
PAYLOAD = "4.19.0-0.nightly-bench"


def pass_rates(rng: random.Random, tests: int) -> list[float]:
    # 90% never fail, 8% fail up to 1%, 2% flaky between 80% and 99%.
    return [1.0 if draw < 0.9 else rng.uniform(0.99, 1.0) if draw < 0.98
            else rng.uniform(0.8, 0.99) for draw in (rng.random() for _ in range(tests))]


def run_results(rng: random.Random, names: list[str], rates: list[float]) -> list[TestResult]:
    out = []
    for name, rate in zip(names, rates, strict=True):
        status = TestStatus.PASSED if rate == 1.0 or rng.random() < rate else TestStatus.FAILED
        out.append(TestResult(name=name, suite="e2e", status=status, duration_s=1.0))
    return out


def build(url: str, history_runs: int, tests: int) -> None:
    store = open_store(url)
    store.migrate()
    rng = random.Random(11)
    names = [f"[sig-{i % 23}] Feature {i // 23} should work [{i:05d}]" for i in range(tests)]
    start = datetime.now(UTC) - timedelta(days=20)
    began = time.perf_counter()
    for job in JOBS:
        store.put_job(JobSpec(name=job))
        rates = pass_rates(rng, tests)
        for run in range(history_runs):
            store.put_run(RunSpec(job=job, run_id=f"h{run}", status=RunStatus.SUCCESS,
                                  payload=f"old-{run // 10}",
                                  started_at=start + timedelta(minutes=run)),
                          run_results(rng, names, rates))
        for run in range(10):
            store.put_run(RunSpec(job=job, run_id=f"p{run}", status=RunStatus.SUCCESS,
                                  payload=PAYLOAD, started_at=datetime.now(UTC)),
                          run_results(rng, names, rates))
    store.put_payload(Payload(id=PAYLOAD, expected={job: 10 for job in JOBS}))
    store.close()
    print(f"built {len(JOBS)} jobs x ({history_runs} + 10) runs x {tests} tests in "
          f"{time.perf_counter() - began:.0f} s", flush=True)


def compute_in_child(url: str, job: str, max_runs: int) -> tuple[float, float]:
    """(seconds, peak MiB) of one baseline computation in a fresh process."""
    code = (
        "import sys, time, resource; sys.path.insert(0, sys.argv[1])\n"
        "from api.store import open_store\nfrom api.services import baselines\n"
        "store = open_store(sys.argv[2]); began = time.perf_counter()\n"
        "baselines.compute(store, sys.argv[3], window_days=3650, max_runs=int(sys.argv[4]))\n"
        "print(time.perf_counter() - began, "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), url, job, str(max_runs)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history-runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", type=Path, default=None,
                        help="reuse (or create) this database instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flakegate-verdict-") as tmp:
        path = args.db or Path(tmp) / "verdict.db"
        url = f"sqlite://{path.resolve()}"
        if not path.exists():
            build(url, args.history_runs, args.tests)
        timings = [compute_in_child(url, job, args.history_runs) for job in JOBS]
        seconds = statistics.median(t for t, _ in timings)
        peak = max(m for _, m in timings)
        store = open_store(url)
        samples = []
        for index in range(args.repeat + 2):
            began = time.perf_counter()
            result = verdicts.judge_payload(store, PAYLOAD, cache=None)
            if index >= 2:  # the first calls warm SQLite's page cache and numpy's code paths
                samples.append((time.perf_counter() - began) * 1000)
        for policy in ("aggregator", "stddev"):
            verdicts.judge_payload(store, PAYLOAD, policy=policy, cache=None)
        policy_ms = {}
        for policy in ("bayes", "aggregator", "stddev"):
            runs = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                verdicts.judge_payload(store, PAYLOAD, policy=policy, cache=None)
                runs.append((time.perf_counter() - began) * 1000)
            policy_ms[policy] = statistics.median(runs)
        cached = verdicts.VerdictCache()
        verdicts.judge_payload(store, PAYLOAD, cache=cached)
        began = time.perf_counter()
        verdicts.judge_payload(store, PAYLOAD, cache=cached)
        cached_ms = (time.perf_counter() - began) * 1000
        store.close()
    checked = sum(job.tests_checked for job in result.jobs)
    print(f"\nverdict: {result.verdict}, {checked} tests checked over {len(result.jobs)} jobs")
    print("\n| measurement | figure | target |\n|---|---:|---|")
    print(f"| verdict, cache off, default policy (median of {args.repeat}) | "
          f"{statistics.median(samples):.1f} ms | <= 100 ms |")
    for policy, value in policy_ms.items():
        print(f"| verdict, cache off, policy {policy} | {value:.1f} ms | |")
    print(f"| verdict, cache warm (stamp check only) | {cached_ms:.1f} ms | |")
    print(f"| baseline computation, {args.history_runs} runs x {args.tests} tests "
          f"(median of 3 jobs) | {seconds:.2f} s | <= 10 s |")
    print(f"| baseline computation peak RSS (whole process) | {peak:.0f} MiB | <= 1024 MiB |")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(this benchmark process peaked at {own:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
