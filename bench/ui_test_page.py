"""Server time of the reads behind the test page and the home page, on the embedded store.

One job with ``--runs`` runs (default 1,000) of ``--tests`` tests (default 5,000), ten runs per
payload, and a baseline computed from them. Measured in process through the app (Flask's test
client: the server's time, no network), each against a reference read in the same run:

* the test page ``/ui/jobs/{job}/tests/{key}`` (target: median <= 100 ms over 1,000 runs) and
  ``GET /jobs/{job}/tests/{key}/history?limit=1000``, against the raw store read both wrap
  (``store.page_reads.test_history``);
* ``GET /payloads?limit=50`` with a warm verdict cache (the steady state: verdicts are judged
  again only when a payload changes) and with the cache off (every verdict judged), against the
  raw store listing (``store.page_reads.recent_payloads``).

    python bench/ui_test_page.py [--runs 1000] [--tests 5000] [--repeat 15] [--db PATH]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.domain import JobSpec, RunSpec, RunStatus, TestResult, TestStatus  # noqa: E402
from api.pages_urls import key_for_test, page_for_test  # noqa: E402
from api.services import baselines  # noqa: E402
from api.store import open_store  # noqa: E402

JOB = "periodic-ci/e2e-aws (ovn)"
ADMIN = "fg_bench-ui-admin-token-long-enough-for-the-rule"
WATCHED = "[sig-network] Services should serve endpoints on same port and different protocols"
RUNS_PER_PAYLOAD = 10


def build(url: str, runs: int, tests: int) -> None:
    store = open_store(url)
    store.migrate()
    store.put_job(JobSpec(name=JOB))
    rng = random.Random(5)
    names = [WATCHED] + [f"[sig-{i % 23}] Feature {i // 23} works [{i:05d}]"
                         for i in range(tests - 1)]
    start = datetime.now(UTC) - timedelta(days=10)
    began = time.perf_counter()
    for run in range(runs):
        results = [TestResult(name=name, suite="e2e", status=TestStatus.PASSED, duration_s=1.0)
                   for name in names]
        if rng.random() < 0.2:  # the watched test fails a fifth of the time, with a message
            results[0] = TestResult(name=WATCHED, suite="e2e", status=TestStatus.FAILED,
                                    duration_s=30.0,
                                    message=f"timeout after 30s waiting for pod-{run}")
        store.put_run(RunSpec(job=JOB, run_id=f"r{run:05d}", payload=f"p{run // RUNS_PER_PAYLOAD}",
                              status=RunStatus.FAILURE if results[0].status is TestStatus.FAILED
                              else RunStatus.SUCCESS,
                              started_at=start + timedelta(minutes=run)), results)
    baselines.compute(store, JOB, window_days=30, max_runs=runs)
    store.close()
    print(f"built 1 job x {runs} runs x {tests} tests ({runs // RUNS_PER_PAYLOAD} payloads) in "
          f"{time.perf_counter() - began:.0f} s", flush=True)


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # the first call pays for opening files and warming caches
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def measure(url: str, repeat: int, runs: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    key = key_for_test("e2e", WATCHED)
    limit = min(runs, 1000)
    store = open_store(url)
    raw_history = median_ms(lambda: store.page_reads.test_history(JOB, key, limit=limit), repeat)
    raw_payloads = median_ms(lambda: store.page_reads.recent_payloads(limit=50), repeat)
    store.close()
    warm = create_app({"DATABASE": url, "ADMIN_TOKEN": ADMIN}).test_client()
    public = create_app({"DATABASE": url, "PUBLIC_READ": True}).test_client()
    cold = create_app({"DATABASE": url, "ADMIN_TOKEN": ADMIN, "VERDICT_CACHE": False}
                      ).test_client()
    path = f"/jobs/{quote(JOB, safe='')}/tests/{key}/history?limit={limit}"

    def get(client: object, target: str) -> None:
        response = client.get(target, headers=headers)  # type: ignore[attr-defined]
        assert response.status_code == 200, response.get_data(as_text=True)

    history = median_ms(lambda: get(warm, path), repeat)
    shown = median_ms(lambda: get(public, page_for_test(JOB, "e2e", WATCHED)), repeat)
    listed = len(warm.get(path, headers=headers).json["items"])
    assert listed == limit, f"the history lists {listed} runs, not {limit}"
    return {
        "history": history, "raw_history": raw_history, "test_page": shown,
        "payloads_warm": median_ms(lambda: get(warm, "/payloads?limit=50"), repeat),
        "payloads_cold": median_ms(lambda: get(cold, "/payloads?limit=50"), max(3, repeat // 5)),
        "raw_payloads": raw_payloads,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", type=Path, default=None, help="keep the database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        url = f"sqlite://{path}"
        if not path.exists():
            build(url, args.runs, args.tests)
        got = measure(url, args.repeat, args.runs)
    payloads = min(50, args.runs // RUNS_PER_PAYLOAD)
    print(f"| read (medians of {args.repeat}) | server time | reference | ratio | target |")
    print("|---|---|---|---|---|")
    print(f"| test page, {min(args.runs, 1000)} runs | {got['test_page']:.1f} ms | "
          f"store read {got['raw_history']:.1f} ms | "
          f"{got['test_page'] / got['raw_history']:.2f} | <= 100 ms |")
    print(f"| GET history, {min(args.runs, 1000)} runs | {got['history']:.1f} ms | "
          f"store read {got['raw_history']:.1f} ms | {got['history'] / got['raw_history']:.2f} | "
          "<= 100 ms |")
    for kind in ("warm", "cold"):
        value = got[f"payloads_{kind}"]
        print(f"| GET /payloads, {payloads} payloads, verdict cache {kind} | {value:.1f} ms | "
              f"store listing {got['raw_payloads']:.1f} ms | "
              f"{value / got['raw_payloads']:.1f} | - |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
