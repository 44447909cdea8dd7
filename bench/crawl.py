"""Crawl benchmark: 1,000 Prow builds with 3 JUnit files each, in the GCS emulator, crawled
into a fresh SQLite store with 1 worker and with N workers.

Each build has started.json, finished.json, prowjob.json and 3 JUnit files of 50 testcases
(one of them gzip-encoded, one in a nested artifacts folder). Both crawls go through the real
``google-cloud-storage`` client, the service layer and the ledger; the rate limit is off.

    python bench/crawl.py [--builds 1000] [--workers 4]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.crawl.config import Settings, Source  # noqa: E402
from api.crawl.gcs import GcsReader  # noqa: E402
from api.crawl.runner import Crawler  # noqa: E402
from api.crawl.sinks import StoreSink  # noqa: E402

EMULATOR = ROOT / ".venv" / "bin" / "gcp-storage-emulator"
JOB = "periodic-ci-bench-e2e"


def junit(build: int, shard: int) -> bytes:
    cases = []
    for i in range(50):
        inner = "<failure>boom</failure>" if (build + i + shard) % 97 == 0 else ""
        cases.append(f'<testcase classname="s{shard}" name="test {i}" time="0.5">{inner}'
                     "</testcase>")
    return (f'<testsuite name="shard{shard}" tests="50">{"".join(cases)}</testsuite>').encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def preload(data_dir: Path, buckets: dict[str, int]) -> float:
    """Write the builds into an emulator data folder, through the emulator's own code.

    The emulator rewrites its whole metadata file on every upload (quadratic: 6,000 objects
    take tens of minutes), so the load runs in-process with that rewrite deferred to one
    final write. The crawl then reads from a separate emulator process on that folder.
    """
    import google.cloud.storage as storage  # module path: see api.crawl.gcs.make_client
    from gcp_storage_emulator.server import create_server
    from gcp_storage_emulator.storage import Storage
    from google.auth.credentials import AnonymousCredentials

    original = Storage._write_config_to_file
    Storage._write_config_to_file = lambda self: None
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=False, data_dir=str(data_dir))
    server.start()
    started = time.perf_counter()
    try:
        os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
        client = storage.Client(project="bench", credentials=AnonymousCredentials())
        for name, builds in buckets.items():
            load(client.create_bucket(name), builds)
        original(server._storage)  # the one metadata write
    finally:
        Storage._write_config_to_file = original
        server.stop()
    return time.perf_counter() - started


def start_emulator(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([str(EMULATOR), "-d", str(data_dir), "start", "--host",
                                "127.0.0.1", "--port", str(port), "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import requests

    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/storage/v1/b", timeout=1)
            return process, f"http://127.0.0.1:{port}"
        except requests.RequestException:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("the GCS emulator did not start") from None
            time.sleep(0.05)


def load(bucket: Any, builds: int) -> None:
    """Upload ``builds`` builds into ``bucket`` (a google.cloud.storage Bucket: untyped)."""
    def one(build_id: int) -> None:
        base = f"logs/{JOB}/{build_id}"
        started = 1_763_000_000 + build_id
        objects = {
            "started.json": json.dumps({"timestamp": started}).encode(),
            "finished.json": json.dumps({"timestamp": started + 3000, "passed": True,
                                         "result": "SUCCESS"}).encode(),
            "prowjob.json": json.dumps({"spec": {"job": JOB}, "metadata": {"annotations": {
                "release.openshift.io/tag": f"4.19.0-{build_id // 10}"}}}).encode(),
            "artifacts/junit_1.xml": junit(build_id, 1),
            "artifacts/e2e/junit_2.xml": junit(build_id, 2),
        }
        for name, data in objects.items():
            bucket.blob(f"{base}/{name}").upload_from_string(data)
        blob = bucket.blob(f"{base}/artifacts/e2e/nested/junit_3.xml")
        blob.content_encoding = "gzip"
        blob.upload_from_string(gzip.compress(junit(build_id, 3)))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(1, builds + 1)))


class SlowReader(GcsReader):
    """Adds a fixed round-trip time to every request: the emulator answers in about a
    millisecond on loopback, real GCS in tens of milliseconds, which is what workers hide."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    def _call(self, fn: Any, what: str) -> Any:
        time.sleep(self.latency)
        return super()._call(fn, what)


def crawl(bucket: str, workers: int, tmp: Path, latency: float = 0.0) -> tuple[float, int]:
    db = f"sqlite:///{tmp / f'w{workers}-{latency}.db'}"
    sink = StoreSink(db)
    reader = SlowReader(latency) if latency else GcsReader()
    crawler = Crawler(reader, sink, Settings(workers=workers, rate=0, build_log_dir=None),
                      out=open(os.devnull, "w"))  # noqa: SIM115
    started = time.perf_counter()
    summary = crawler.crawl_bucket(Source(bucket=bucket, prefixes=(f"logs/{JOB}",)))
    elapsed = time.perf_counter() - started
    sink.close()
    if summary.ingested != summary.found or summary.failed:
        raise SystemExit(f"crawl incomplete: {summary.line()}")
    return elapsed, summary.ingested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="also crawl with this simulated round-trip time per request")
    parser.add_argument("--latency-builds", type=int, default=200,
                        help="builds crawled in the simulated-latency rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        buckets = {"bench-prow": args.builds}
        if args.latency_ms:
            buckets["bench-prow-small"] = args.latency_builds
        seconds = preload(tmp / "gcs", buckets)
        print(f"loaded {sum(buckets.values())} builds ({6 * sum(buckets.values())} objects) "
              f"in {seconds:.1f} s", file=sys.stderr)
        process, url = start_emulator(tmp / "gcs")
        try:
            os.environ["STORAGE_EMULATOR_HOST"] = url
            rows = []
            one, n = crawl("bench-prow", 1, tmp)
            many, _ = crawl("bench-prow", args.workers, tmp)
            rows.append(("emulator (loopback)", n, one, many))
            if args.latency_ms:
                lat = args.latency_ms / 1000
                one_l, n_l = crawl("bench-prow-small", 1, tmp, lat)
                many_l, _ = crawl("bench-prow-small", args.workers, tmp, lat)
                rows.append((f"+{args.latency_ms:g} ms per request", n_l, one_l, many_l))
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    print(f"| requests | builds | 1 worker: s | builds/s | {args.workers} workers: s "
          "| builds/s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, count, t1, tn in rows:
        print(f"| {name} | {count} | {t1:.1f} | {count / t1:.1f} | {tn:.1f} | "
              f"{count / tn:.1f} | {t1 / tn:.2f}x |")
    print(f"\n{os.cpu_count()} CPUs, shared by the emulator and the crawler; 3 JUnit files "
          "of 50 testcases per build, 7 GCS requests per build (1 listing, 3 JSON, 3 JUnit).")


if __name__ == "__main__":
    main()
