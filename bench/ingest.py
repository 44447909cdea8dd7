"""Ingest benchmark: the real 7,353-testcase Kubernetes e2e JUnit file.

Measured in one run, so the ratios compare like with like on this machine:
  (a) the service layer: parse + attach through ``api.services.junit_upload`` into SQLite;
  (b) end to end over HTTP: POST to ``flakegate serve`` (gunicorn, 2 workers) on loopback;
  (c) the raw floor: lxml iterparse of the same bytes + one ``executemany`` in one transaction;
  (d) junitparser, the library a user would otherwise pick, parsing the same file;
and the bytes on disk per stored test result at one million results (200 runs x 5,000 tests).

    python bench/ingest.py [--repeat 15] [--skip-http] [--skip-size]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.domain import RunSpec, RunStatus, TestResult, TestStatus  # noqa: E402
from api.junit import parse_junit  # noqa: E402
from api.services import junit_upload  # noqa: E402
from api.store import open_store  # noqa: E402

FIXTURE = (ROOT.parent / "shared" / "fixtures" / "prow" / "junit"
           / "k8s-e2e-v1.35-ginkgo2-conformance_junit_01.xml")


def median_ms(action: Callable[[int], object], repeat: int, warmup: int = 2,
              prepare: Callable[[int], object] | None = None) -> float:
    """Median wall time of ``action(i)``; ``prepare(i)`` runs before each call, untimed."""
    samples = []
    for index in range(-warmup, repeat):
        if prepare is not None:
            prepare(index)
        started = time.perf_counter()
        action(index)
        if index >= 0:
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def raw_floor(data: bytes, workdir: Path) -> Callable[[int], object]:
    from lxml import etree

    connection = sqlite3.connect(workdir / "floor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE results (run INTEGER, suite TEXT, name TEXT, status INTEGER,"
                       " duration REAL)")

    def action(run: int) -> object:
        import io

        rows = []
        for _, element in etree.iterparse(io.BytesIO(data), events=("end",), tag="testcase",
                                          resolve_entities=False, no_network=True):
            status = 0
            for child in element:
                tag = child.tag
                status = 1 if tag == "failure" else 2 if tag == "error" else 3
            rows.append((run, element.get("classname", ""), element.get("name"), status,
                         element.get("time")))
            element.clear()
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?)", rows)
        connection.execute("COMMIT")
        return rows

    return action


def service_layer(data: bytes, workdir: Path, repeat: int) -> float:
    return ingest_ms(f"sqlite://{workdir / 'service.db'}", data, repeat)


def ingest_ms(url: str, data: bytes, repeat: int) -> float:
    """Median ms to attach ``data`` as one run's JUnit through the service, on the store at
    ``url`` (the PostgreSQL bench runs the same measure on both backends)."""
    store = open_store(url)
    store.migrate()

    def prepare(run: int) -> None:
        store.put_run(RunSpec(job="bench", run_id=f"bench-{run}", status=RunStatus.SUCCESS))

    def action(run: int) -> object:
        return junit_upload.attach(store, "bench", f"bench-{run}",
                                   [junit_upload.Upload("junit_01.xml", data)],
                                   limits=junit_upload.Limits.per_file(1 << 30, 1))

    try:
        return median_ms(action, repeat, prepare=prepare)
    finally:
        store.close()


def junitparser_parse(data: bytes, workdir: Path) -> Callable[[int], object]:
    from junitparser import JUnitXml

    path = workdir / "junit.xml"
    path.write_bytes(data)

    def action(_run: int) -> object:
        cases = []
        for suite in JUnitXml.fromfile(str(path)):
            for case in suite:
                cases.append((case.classname, case.name, case.result))
        return cases

    return action


def http_end_to_end(data: bytes, workdir: Path, repeat: int) -> float:
    import requests

    sys.path.insert(0, str(ROOT))
    from tests.live_server import LiveServer

    server = LiveServer(f"sqlite://{workdir / 'http.db'}",
                        "fg_bench-admin-token-long-enough-for-the-32-char-rule", workers=2).start()
    try:
        session = requests.Session()
        session.headers.update(server.headers())

        def prepare(run: int) -> None:
            session.put(f"{server.url}/jobs/bench/runs/http-{run}", json={"status": "success"},
                        timeout=60).raise_for_status()

        def action(run: int) -> object:
            response = session.post(
                f"{server.url}/jobs/bench/runs/http-{run}/junit?filename=junit_01.xml",
                data=data, headers={"Content-Type": "application/xml"}, timeout=60)
            response.raise_for_status()
            return response

        return median_ms(action, repeat, prepare=prepare)
    finally:
        server.stop()


def bytes_per_result(workdir: Path, runs: int = 200, tests: int = 5_000) -> float:
    import random

    from api.store.sqlite import SqliteStore

    url = f"sqlite://{workdir / 'size.db'}"
    store = open_store(url)
    assert isinstance(store, SqliteStore)  # for checkpoint(), SQLite's own
    store.migrate()
    rng = random.Random(7)
    names = [f"[sig-{index % 17}] Feature {index // 17} should behave [{index:05d}]"
             for index in range(tests)]
    for run in range(runs):
        results = []
        for name in names:
            draw = rng.random()
            status = (TestStatus.PASSED if draw < 0.97 else TestStatus.SKIPPED if draw < 0.995
                      else TestStatus.FAILED)
            results.append(TestResult(name=name, suite="e2e", status=status,
                                      duration_s=round(rng.uniform(0.1, 300), 3),
                                      message="timed out" if status is TestStatus.FAILED
                                      else None))
        store.put_run(RunSpec(job="size", run_id=str(run), status=RunStatus.SUCCESS), results)
    store.checkpoint()
    store.close()
    size = sum(os.path.getsize(path) for path in workdir.glob("size.db*"))
    return size / (runs * tests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-size", action="store_true")
    args = parser.parse_args()
    if not FIXTURE.exists():
        print(f"fixture missing: {FIXTURE}", file=sys.stderr)
        return 2
    data = FIXTURE.read_bytes()
    parsed = parse_junit(data, filename=FIXTURE.name)
    print(f"file: {FIXTURE.name}: {len(data) / 1e6:.1f} MB, {parsed.totals.tests} testcases, "
          f"{len(parsed.tests)} distinct tests")
    with tempfile.TemporaryDirectory(prefix="flakegate-bench-") as tmp:
        workdir = Path(tmp)
        floor = median_ms(raw_floor(data, workdir), args.repeat)
        service = service_layer(data, workdir, args.repeat)
        reference = median_ms(junitparser_parse(data, workdir), max(5, args.repeat // 3))
        parse_only = median_ms(lambda _run: parse_junit(data, filename="f.xml"), args.repeat)
        http = None if args.skip_http else http_end_to_end(data, workdir, args.repeat)
        size = None if args.skip_size else bytes_per_result(workdir)

    rows = [
        ("(c) raw floor: lxml iterparse + one executemany", floor, "reference"),
        ("flakegate parser alone", parse_only, f"{parse_only / floor:.2f}x floor"),
        ("(a) service layer: parse + attach (SQLite)", service,
         f"{service / floor:.2f}x floor (target <= 2x)"),
        ("(d) junitparser: parse only", reference,
         f"service layer is {reference / service:.1f}x faster (target >= 3x)"),
    ]
    if http is not None:
        rows.append(("(b) HTTP end to end: POST the file to gunicorn, 2 workers", http,
                     "target <= 150 ms median"))
    print("\n| measurement | median ms | ratio / target |\n|---|---:|---|")
    for label, value, note in rows:
        print(f"| {label} | {value:.1f} | {note} |")
    if size is not None:
        print(f"\nbytes on disk per stored test result at 1,000,000 results: {size:.1f} "
              f"(target <= 40)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
