"""Disruption baselines speed (SPEC §9, issue 12 "Measure").

(a) Baselines from 50,000 runs x 20 keys (1,000,000 stored measurements) on SQLite: the whole
    service call (read the window's columns, zeros of known keys, percentiles per key and
    variant, store the version), in a fresh child process so that its peak resident memory
    (``ru_maxrss``, interpreter and numpy included) is what a server worker would see.
    Reference (the floor): ``numpy.quantile`` over the same dense matrix already in memory.
    Targets: <= 5 s and <= 1 GiB.
(b) ``GET /disruption/baselines?format=origin`` for a 5,000-row version through gunicorn
    (2 workers) on loopback, median of ``--repeat``; reference: ``json.dumps`` of the same rows
    as plain dicts, in this process. Target: <= 1 s.

The runs are seeded with SQL straight into the tables (the API would take minutes to ingest
50,000 runs and is measured by bench/ingest.py). Prints one line per figure with its ratio to
the reference measured in the same run.

    python bench/disruption_speed.py [--runs 50000] [--keys 20] [--rows 5000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
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

import numpy as np  # noqa: E402

from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant  # noqa: E402
from api.store import open_store  # noqa: E402

PLATFORMS = ("aws", "gcp", "azure", "metal", "vsphere")
NETWORKS = ("ovn", "sdn")
RELEASES = (("4.15", "4.14"), ("4.15", ""), ("4.16", "4.15"), ("4.16", ""))


def seed(db: Path, runs: int, keys: int, rng: random.Random) -> int:
    """``runs`` evidence runs started yesterday, each naming every key with probability 0.9
    (the rest are zeros of known keys), zero-inflated seconds. Returns the measurements."""
    store = open_store(f"sqlite://{db}")
    store.migrate()
    conn = store.connection  # type: ignore[attr-defined]
    started = int((datetime.now(UTC) - timedelta(days=1)).timestamp() * 1e6)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO jobs (id, name, created_at, updated_at) VALUES (1, 'bench', 0, 0)")
    conn.executemany("INSERT INTO measure_keys (id, kind, name) VALUES (?, 'disruptions', ?)",
                     [(k + 1, f"backend-{k:02d}-new-connections") for k in range(keys)])
    conn.executemany(
        "INSERT INTO runs (pk, job_id, run_id, status, started_at, created_at, updated_at)"
        " VALUES (?, 1, ?, 'success', ?, ?, ?)",
        ((i + 1, str(i), started + i, started + i, started + i) for i in range(runs)))
    variants = [(rel, src, p, "amd64", n, "ha", "Y" if src else "")
                for rel, src in RELEASES for p in PLATFORMS for n in NETWORKS]
    conn.executemany(
        "INSERT INTO run_measures (run_pk, release, from_release, platform, architecture,"
        " network, topology, master_nodes_updated, from_cluster_data, has_disruptions)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 1)",
        ((i + 1, *variants[rng.randrange(len(variants))]) for i in range(runs)))
    count = 0

    def measurements() -> object:
        nonlocal count
        for i in range(runs):
            for k in range(keys):
                if rng.random() < 0.9:
                    count += 1
                    seconds = 0 if rng.random() < 0.7 else int(rng.expovariate(1 / 8)) + 1
                    yield (i + 1, k + 1, seconds)

    conn.executemany("INSERT INTO measurements (run_pk, key_id, seconds) VALUES (?, ?, ?)",
                     measurements())  # type: ignore[arg-type]
    conn.execute("COMMIT")
    store.close()
    return count


def child(db: Path) -> None:
    """One baseline computation; prints seconds, peak RSS (MiB) and rows as JSON."""
    from api.services import disruption_baselines

    store = open_store(f"sqlite://{db}")
    start = time.perf_counter()
    done = disruption_baselines.compute(store, MeasurementKind.DISRUPTIONS, actor="bench")
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert done.version is not None
    print(json.dumps({"seconds": elapsed, "peak_mib": peak, "rows": done.version.rows}))


def numpy_floor(runs: int, keys: int, groups: int) -> float:
    """numpy.quantile per variant over a dense runs x keys matrix already in memory."""
    gen = np.random.default_rng(1)
    seconds = gen.exponential(8, size=(runs, keys)).astype(np.int64) + 1
    matrix = np.where(gen.random((runs, keys)) < 0.7, 0, seconds)
    group = gen.integers(0, groups, size=runs)
    start = time.perf_counter()
    for g in range(groups):
        np.quantile(matrix[group == g], (0.5, 0.75, 0.95, 0.99), axis=0, method="linear")
    return time.perf_counter() - start


def origin_rows(count: int) -> list[BaselineRow]:
    rng = random.Random(3)
    out = []
    for i in range(count):
        rel, src = RELEASES[i % len(RELEASES)]
        variant = Variant(rel, src, PLATFORMS[i // 4 % 5], "amd64", NETWORKS[i // 20 % 2],
                          "ha", "Y" if src else "")
        p99 = rng.uniform(0, 100)
        out.append(BaselineRow(MeasurementKey(MeasurementKind.DISRUPTIONS, f"b-{i // 40:04d}"),
                               variant, rng.randrange(1, 900), p99 * 0.8, p99, 0.0, p99 / 4,
                               p99 / 3, p99 / 5))
    return out


def origin_over_http(workdir: Path, rows: int, repeat: int) -> tuple[float, float]:
    import requests

    from tests.live_server import LiveServer

    db = workdir / "origin.db"
    store = open_store(f"sqlite://{db}")
    store.migrate()
    made = origin_rows(rows)
    store.disruption.put_baseline_version(MeasurementKind.DISRUPTIONS, made, window_days=30,
                                          created=datetime.now(UTC), actor="bench")
    store.close()
    plain = [{"name": r.key.name, **{f: getattr(r.variant, f) for f in
              ("release", "from_release", "platform", "architecture", "network", "topology",
               "master_nodes_updated")}, "JobRuns": r.job_runs, "P95": r.p95, "P99": r.p99,
              "P75": r.p75, "P50": r.p50} for r in made]
    reference = statistics.median(_timed(lambda: json.dumps(plain, indent=2))
                                  for _ in range(repeat))
    server = LiveServer(f"sqlite://{db}", "fg_bench-admin-token-long-enough-for-the-32-char-rule",
                        workers=2).start()
    try:
        session = requests.Session()
        session.headers.update(server.headers())
        url = f"{server.url}/disruption/baselines?kind=disruptions&format=origin"

        def fetch() -> None:
            response = session.get(url, timeout=60)
            response.raise_for_status()
            assert len(json.loads(response.text)) == rows

        fetch()  # warm the worker
        served = statistics.median(_timed(fetch) for _ in range(repeat))
    finally:
        server.stop()
    return served, reference


def _timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db = workdir / "bench.db"
        count = seed(db, args.runs, args.keys, rng)
        done = subprocess.run([sys.executable, __file__, "--child", str(db)], check=True,
                              capture_output=True, text=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        groups = len(RELEASES) * len(PLATFORMS) * len(NETWORKS)
        floor = numpy_floor(args.runs, args.keys, groups)
        print(f"(a) baselines from {args.runs:,} runs x {args.keys} keys ({count:,} stored "
              f"measurements, {figures['rows']:,} rows): {figures['seconds']:.2f} s, peak RSS "
              f"{figures['peak_mib']:.0f} MiB; numpy floor {floor:.3f} s; ratio "
              f"{figures['seconds'] / max(floor, 1e-9):.1f}x (targets: <= 5 s, <= 1024 MiB)")
        served, reference = origin_over_http(workdir, args.rows, args.repeat)
        print(f"(b) ?format=origin, {args.rows:,} rows over HTTP: median {served * 1000:.0f} ms;"
              f" json.dumps of the same rows {reference * 1000:.1f} ms; ratio "
              f"{served / max(reference, 1e-9):.1f}x (target: <= 1000 ms)")


if __name__ == "__main__":
    main()
