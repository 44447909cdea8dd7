"""Webhook acknowledgement benchmark: how long GitHub waits for ``POST /hooks/github``.

A delivery is verified (HMAC) and stored in the durable work queue before the answer; nothing
else happens in the request. Measured in one run against ``flakegate serve`` (gunicorn, 2
workers, SQLite) on loopback, with background work off so only the acknowledgement is timed:
  (a) ``POST /hooks/github`` with a signed ``workflow_job`` completed delivery (a new delivery
      id each time, so each one is stored);
  (b) ``GET /healthz`` on the same connection, the reference: the cheapest request there is.
GitHub allows 10 s; the ratio says what a delivery costs over a no-op request.

    python bench/webhook_ack.py [--deliveries 300]
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

import requests  # noqa: E402

from api.store import open_store  # noqa: E402
from tests.github_deliveries import workflow_job_completed  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

SECRET = "bench-secret"
ADMIN = "fg_bench-admin-token-long-enough-for-the-32-char-rule"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = open_store(url)
        store.migrate()
        store.close()
        server = LiveServer(url, ADMIN, workers=2, extra_env={
            "FLAKEGATE_GITHUB_WEBHOOK_SECRET": SECRET, "FLAKEGATE_WORK_EVERY": "0"}).start()
        try:
            session = requests.Session()
            ack: list[float] = []
            ref: list[float] = []
            size = 0
            for index in range(args.deliveries):
                delivery = workflow_job_completed(
                    secret=SECRET, repository="octo/repo", run_id=1, job_id=index,
                    name=f"job-{index}", workflow_name="CI", head_sha="e" * 40,
                    conclusion="failure")
                size = len(delivery.body)
                start = time.perf_counter()
                answer = session.post(f"{server.url}/hooks/github", data=delivery.body,
                                      headers={**delivery.headers,
                                               "Content-Type": "application/json"}, timeout=10)
                ack.append(time.perf_counter() - start)
                if answer.status_code != 202:
                    print(f"delivery refused: {answer.status_code} {answer.text}")
                    return 1
                start = time.perf_counter()
                session.get(f"{server.url}/healthz", timeout=10)
                ref.append(time.perf_counter() - start)
        finally:
            server.stop()
    print(f"deliveries: {args.deliveries} of {size} bytes")
    print(f"ack      p50 {statistics.median(ack) * 1000:7.1f} ms"
          f"  p99 {quantile(ack, 0.99) * 1000:7.1f} ms")
    print(f"healthz  p50 {statistics.median(ref) * 1000:7.1f} ms"
          f"  p99 {quantile(ref, 0.99) * 1000:7.1f} ms")
    print(f"ratio ack/healthz (p50): {statistics.median(ack) / statistics.median(ref):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
