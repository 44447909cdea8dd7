"""Log ingest benchmark (issue 13): storing one step's log as the API does, against a floor.

Measured in one run on the same generated log (bench/log_corpus.py, gzip-compressed as
``flakegate upload --log`` sends it):
  (a) the service layer: ``api.services.logs.put_log`` into SQLite (inflate, bound, decode,
      strip escapes, cut long lines, hash, zlib-compress, one write);
  (b) the floor: inflate, zlib-compress at the same level and one INSERT of the BLOB, the
      least any store that keeps logs compressed must do;
and the stored bytes per received byte.

    python bench/log_ingest.py [--size-mib 64] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gzip
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from log_corpus import generate  # noqa: E402

from api.domain import RunSpec, RunStatus  # noqa: E402
from api.services import junit_upload, logs  # noqa: E402
from api.store import open_store  # noqa: E402
from api.store.logs import Packed  # noqa: E402


def median_s(action: Callable[[int], object], repeat: int) -> float:
    samples = []
    for index in range(repeat):
        started = time.perf_counter()
        action(index)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def the_log(size: int) -> bytes:
    """One log of about ``size`` bytes: generated logs of 2 MiB each, concatenated."""
    parts, total = [], 0
    for log in generate(max(1, size // (2 << 20) + 1), min(size, 2 << 20), seed=5, truth=False):
        data = log.text.encode()
        parts.append(data)
        total += len(data)
        if total >= size:
            break
    return b"".join(parts)[:size]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=float, default=64.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    plain = the_log(int(args.size_mib * (1 << 20)))
    body = gzip.compress(plain, compresslevel=6, mtime=0)
    mib = len(plain) / (1 << 20)
    with tempfile.TemporaryDirectory() as workdir:
        store = open_store(f"sqlite://{Path(workdir) / 'service.db'}")
        store.migrate()
        for run in range(args.repeat):
            store.put_run(RunSpec(job="bench", run_id=str(run), status=RunStatus.FAILURE))
        limits = junit_upload.Limits.per_file(1 << 30, 1)

        def service(run: int) -> object:
            return logs.put_log(store, "bench", str(run), "build", body, limits=limits,
                                max_log_bytes=max(len(plain), 4096))

        floor_db = sqlite3.connect(Path(workdir) / "floor.db", isolation_level=None)
        floor_db.execute("PRAGMA journal_mode=WAL")
        floor_db.execute("PRAGMA synchronous=NORMAL")
        floor_db.execute("CREATE TABLE logs (run INTEGER PRIMARY KEY, data BLOB)")

        def floor(run: int) -> object:
            packed = zlib.compress(gzip.decompress(body), 6)
            floor_db.execute("INSERT INTO logs VALUES (?, ?)", (run, packed))
            return packed

        service_s = median_s(service, args.repeat)
        floor_s = median_s(floor, args.repeat)
        stored = store.logs.get_log("bench", "0", "build")
        assert stored is not None
        packed = len(Packed.of(stored.text).data)  # what the backends keep
        store.close()
        floor_db.close()
    print(f"log of {mib:.1f} MiB ({len(body) / (1 << 20):.1f} MiB gzipped on the wire), "
          f"median of {args.repeat}")
    print(f"  service put_log: {service_s * 1000:8.0f} ms  {mib / service_s:6.1f} MiB/s")
    print(f"  floor (inflate + zlib + INSERT): {floor_s * 1000:8.0f} ms  "
          f"{mib / floor_s:6.1f} MiB/s")
    print(f"  service/floor: {service_s / floor_s:.2f}x")
    print(f"  stored/received bytes: {packed / len(plain):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
