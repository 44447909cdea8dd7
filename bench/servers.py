"""Throughput of 16 uploaders against two ``flakegate serve`` processes on one database, versus
one server, and where the CPU goes (issue 16).

Measured in one run, on the same database, so the ratio compares like with like:
  (a) one server (``--workers`` gunicorn workers), UPLOADERS threads each putting RUNS runs of
      TESTS inline tests (one request per run);
  (b) two servers on different ports, the uploaders alternating between them.
For each, runs/s and the CPU seconds spent (from /proc: utime + stime) by the server processes
(master and workers), by database server processes (with ``--postgres``: the postmaster this run
started and its backends; SQLite's work is inside the servers) and by this client, against the
wall time x cores available: the resource whose share is highest saturates first.

    python bench/servers.py [--db URL] [--uploaders 16] [--runs 8] [--tests 200] [--workers 2]

``--db`` (default: a new SQLite file) must be initialised or initialisable; each mode writes
its own jobs, so one database serves both. ``--postgres`` starts a PostgreSQL for the run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from api.store import open_store  # noqa: E402

ADMIN = "fg_bench-admin-token-long-enough-for-the-32-char-rule"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) of the processes and their reaped children."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 (1-based) of stat; [0] here is field 3.
        total += sum(int(x) for x in fields[11:15]) / TICKS
    return total


def machine() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, from /proc/stat: whether the
    cores were saturated, by this run or by anything else on a shared machine."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def tree(root: int) -> list[int]:
    """``root`` and its descendants (gunicorn master and workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def postgres_pids(postmaster: int | None) -> list[int]:
    """The database server's processes: the postmaster of the PostgreSQL this run started and
    its backends (other PostgreSQL servers on the machine are not ours to count)."""
    return tree(postmaster) if postmaster is not None else []


def body(tests: int, run: int) -> dict[str, object]:
    return {"status": "success", "payload": f"p{run % 4}",
            "tests": [{"suite": "s", "name": f"t{n}", "status": "passed" if (n + run) % 50
                       else "failed", "duration_s": 0.1} for n in range(tests)]}


def measure(url: str, servers_n: int, args: argparse.Namespace, logs: Path,
            postmaster: int | None) -> dict[str, float]:
    from tests.live_server import LiveServer

    servers = [LiveServer(url, ADMIN, workers=args.workers, log_dir=logs).start()
               for _ in range(servers_n)]
    try:
        pids = [pid for s in servers if s.process for pid in tree(s.process.pid)]
        pg = postgres_pids(postmaster)
        server_cpu, pg_cpu = cpu_of(pids), cpu_of(pg)
        client_cpu = resource.getrusage(resource.RUSAGE_SELF)
        busy_before = machine()
        errors: list[str] = []

        def upload(index: int) -> None:
            session = requests.Session()
            for run in range(args.runs):
                server = servers[(index + run) % servers_n]
                done = session.put(f"{server.url}/jobs/m{servers_n}-j{index % 3}/runs/"
                                   f"u{index}-{run}", json=body(args.tests, run),
                                   headers=server.headers(), timeout=120)
                if done.status_code != 201:
                    errors.append(f"{done.status_code} {done.text[:200]}")

        threads = [threading.Thread(target=upload, args=(i,)) for i in range(args.uploaders)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        if errors:
            raise SystemExit(f"uploads failed: {errors[:3]}")
        after = resource.getrusage(resource.RUSAGE_SELF)
        busy_after = machine()
        pids = [pid for s in servers if s.process for pid in tree(s.process.pid)]
        return {"wall": wall, "runs_s": args.uploaders * args.runs / wall,
                "server": cpu_of(pids) - server_cpu,
                "database": cpu_of(postgres_pids(postmaster)) - pg_cpu,
                "client": (after.ru_utime + after.ru_stime)
                - (client_cpu.ru_utime + client_cpu.ru_stime),
                "machine": (busy_after[0] - busy_before[0])
                / max(1e-9, busy_after[1] - busy_before[1])}
    finally:
        for server in servers:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, metavar="URL")
    parser.add_argument("--uploaders", type=int, default=16)
    parser.add_argument("--runs", type=int, default=8, help="runs per uploader")
    parser.add_argument("--tests", type=int, default=200, help="tests per run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--postgres", action="store_true",
                        help="use a fresh schema of a PostgreSQL started for the run"
                             " (tests/postgres_server.py)")
    args = parser.parse_args()
    postmaster = None
    if args.postgres:
        from tests.postgres_server import shared_postgres

        server = shared_postgres()
        args.db = server.fresh_url()
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="flakegate-servers-") as tmp:
        url = args.db or f"sqlite://{Path(tmp) / 'shared.db'}"
        store = open_store(url)
        store.migrate()
        store.close()
        print(f"{args.uploaders} uploaders x {args.runs} runs x {args.tests} tests, "
              f"{args.workers} workers per server, {cores} cores, {url.split(':', 1)[0]}")
        found = {n: measure(url, n, args, Path(tmp), postmaster) for n in (1, 2)}
    for n, m in found.items():
        shares = {k: m[k] / (m["wall"] * cores) for k in ("server", "database", "client")}
        busiest = max(shares, key=lambda k: shares[k])
        print(f"{n} server(s): {m['runs_s']:7.1f} runs/s in {m['wall']:.1f} s; CPU s: "
              f"servers {m['server']:.1f}, database {m['database']:.1f}, client "
              f"{m['client']:.1f}; of all cores: " + ", ".join(
                  f"{k} {v:.0%}" for k, v in shares.items()) + f" (most: {busiest});"
              f" whole machine busy {m['machine']:.0%}")
        if m["machine"] > 0.9:
            print("  the cores saturate first (busy whole machine, this run's share above)")
        elif max(shares.values()) < 0.5:
            print("  no CPU saturates: requests wait on the database's write serialisation"
                  " (one writer at a time and its commit), not on a core")
    print(f"ratio two servers / one: {found[2]['runs_s'] / found[1]['runs_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
