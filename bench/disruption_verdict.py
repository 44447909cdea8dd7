"""The price of the disruption section in a verdict, and of ``GET /disruption/allowed``.

A payload of 3 jobs x 10 runs x ``--tests`` tests (as ``bench/verdict.py``), each job with
``--history`` earlier runs 4 to 9 days before the payload (tests and measurements: the 36
backends of one real origin variant plus 12 alerts, seconds drawn to match that variant's
P50..P99), a test baseline per job, and origin's 00c213 disruption and 20def73 alert files
stored as the disruption baseline versions the single-run checks match against.

Reported: the verdict's median (cache off) with every job's ``disruption`` setting ``off``
(the reference, measured in the same run) and at its default (``block``: single-run checks and
both payload policies), and their ratio (target: at most 1.2); and the median of
``GET /disruption/allowed`` through the app (target: at most 5 ms).

    python bench/disruption_verdict.py [--tests 5000] [--history 150] [--repeat 15]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.disruption.artifacts import parse_artifact  # noqa: E402
from api.disruption.model import (  # noqa: E402
    BaselineRow,
    MeasurementKey,
    MeasurementKind,
    Variant,
)
from api.domain import JobSpec, Payload, RunSpec, RunStatus, TestResult, TestStatus  # noqa: E402
from api.services import baselines, verdicts  # noqa: E402
from api.store import Store, open_store  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures" / "openshift"
DISRUPTIONS = ("allowedbackenddisruption_query_results__origin_"
               "00c213426f534ac8917808ec98b72d641104f85d.json")
ALERTS = "allowedalerts_query_results__origin_20def73ea61d5e0a804fa77341f1d004e0206036.json"
JOBS = ("e2e-aws-ovn-upgrade", "e2e-gcp-ovn-upgrade", "e2e-azure-ovn-upgrade")
PAYLOAD = "4.16.0-0.nightly-disruption-bench"
VARIANT = Variant("4.16", "4.15", "aws", "amd64", "ovn", "ha", "Y")
ADMIN = "fg_disruption-bench-admin-token-32-chars-long"


def origin_rows(name: str) -> list[BaselineRow]:
    rows = []
    for r in json.loads((FIXTURES / name).read_text()):
        if "AlertName" in r:
            key = MeasurementKey(MeasurementKind.ALERTS, r["AlertName"], "openshift-monitoring",
                                 "Warning")
        else:
            key = MeasurementKey(MeasurementKind.DISRUPTIONS, r["BackendName"])
        rows.append(BaselineRow(key, Variant(r["Release"], r["FromRelease"], r["Platform"],
                                             r["Architecture"], r["Network"], r["Topology"],
                                             r.get("MasterNodesUpdated", "")),
                                int(r.get("JobRuns", 0)), float(r["P95"]), float(r["P99"])))
    return rows


def draw(rng: random.Random, row: BaselineRow) -> int:
    u = rng.random()
    p99 = row.p99
    points = [(0.0, 0.0), (0.5, row.p50 or 0.0), (0.75, row.p75 or 0.0), (0.95, row.p95),
              (0.99, p99), (1.0, 1.5 * p99 + 1)]
    for (u0, s0), (u1, s1) in itertools.pairwise(points):
        if u <= u1:
            return max(0, int(-(-(s0 + (s1 - s0) * (u - u0) / (u1 - u0)) // 1)))
    return int(p99)


def files(rng: random.Random, backends: list[BaselineRow], alerts: list[BaselineRow]
          ) -> list[tuple[str, bytes]]:
    disruption = {"BackendDisruptions": {
        row.key.name: {"Name": row.key.name, "BackendName": row.key.name, "ConnectionType": "New",
                       "DisruptedDuration": f"{draw(rng, row)}s", "DisruptionMessages": []}
        for row in backends}}
    fired = {"Alerts": [{"Name": row.key.name, "Namespace": row.key.namespace, "Level": "Warning",
                         "Duration": f"{draw(rng, row)}s"} for row in alerts]}
    cluster = {"Release": VARIANT.release, "FromRelease": VARIANT.from_release,
               "Platform": VARIANT.platform, "Architecture": VARIANT.architecture,
               "Network": VARIANT.network, "Topology": VARIANT.topology,
               "MasterNodesUpdated": "Y"}
    return [("backend-disruption_e2e.json", json.dumps(disruption).encode()),
            ("alerts_e2e.json", json.dumps(fired).encode()),
            ("cluster-data_e2e.json", json.dumps(cluster).encode())]


def put_measured(store: Store, job: str, run_id: str, payload: str, started: datetime,
                 tests: list[TestResult], measured: list[tuple[str, bytes]]) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=RunStatus.SUCCESS, payload=payload,
                          started_at=started), tests)
    parsed = [parse_artifact(name, data, hashlib.sha256(data).hexdigest())
              for name, data in measured]
    store.disruption.put_artifacts(job, run_id, [], parsed)


def build(url: str, tests: int, history: int) -> None:
    store = open_store(url)
    store.migrate()
    rng = random.Random(5)
    rows = origin_rows(DISRUPTIONS)
    backends = [r for r in rows if r.variant.match_key() == VARIANT.match_key()]
    alert_rows = origin_rows(ALERTS)
    alerts = rng.sample([r for r in alert_rows if r.p99 > 0], 12)
    names = [f"[sig-{i % 23}] Feature {i // 23} should work [{i:05d}]" for i in range(tests)]
    now = datetime.now(UTC)
    began = time.perf_counter()
    for job in JOBS:
        store.put_job(JobSpec(name=job))
        results = [TestResult(name=name, suite="e2e", status=TestStatus.PASSED, duration_s=1.0)
                   for name in names]
        for run in range(history):
            put_measured(store, job, f"h{run}", f"old-{run // 10}",
                         now - timedelta(days=4, minutes=50 * run), results,
                         files(rng, backends, alerts))
        for run in range(10):
            put_measured(store, job, f"p{run}", PAYLOAD, now + timedelta(seconds=run), results,
                         files(rng, backends, alerts))
        baselines.compute(store, job, window_days=30)
    store.disruption.put_baseline_version(MeasurementKind.DISRUPTIONS, rows, window_days=30,
                                          created=now)
    store.disruption.put_baseline_version(MeasurementKind.ALERTS, alert_rows, window_days=30,
                                          created=now)
    store.put_payload(Payload(id=PAYLOAD, expected=dict.fromkeys(JOBS, 10)))
    store.close()
    print(f"built {len(JOBS)} jobs x ({history} + 10) runs x {tests} tests, "
          f"{len(backends)} backends + {len(alerts)} alerts per run, in "
          f"{time.perf_counter() - began:.0f} s", flush=True)


def verdict_median(url: str, setting: str, repeat: int) -> tuple[float, float, dict]:
    """Wall and CPU medians (ms) of the verdict, and what it said. CPU time is reported too
    because the machine may be shared: the ratio of CPU medians is the steadier one."""
    store = open_store(url)
    for job in JOBS:
        store.put_job(JobSpec(name=job, settings={"disruption": setting}))
    verdicts.judge_payload(store, PAYLOAD)  # warm: the baseline index cache, imports
    times, cpu = [], []
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = verdicts.judge_payload(store, PAYLOAD)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    store.close()
    section = result.jobs[0].disruption
    return statistics.median(times) * 1000, statistics.median(cpu) * 1000, {
        "verdict": result.verdict,
        "disruption": None if section is None else (section.verdict, section.runs),
    }


def allowed_median(url: str, repeat: int) -> tuple[float, float]:
    """Medians of ``GET /disruption/allowed`` and, as the floor of any authenticated read
    through the same app and store, ``GET /jobs/{job}``."""
    app = create_app({"DATABASE": url, "ADMIN_TOKEN": ADMIN})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ADMIN}"}
    floor = []
    for index in range(repeat + 1):
        began = time.perf_counter()
        assert client.get(f"/jobs/{JOBS[0]}", headers=headers).status_code == 200
        if index:
            floor.append(time.perf_counter() - began)
    rows = origin_rows(DISRUPTIONS)
    rng = random.Random(3)
    times = []
    for index in range(repeat + 1):
        row = rng.choice(rows)
        v = row.variant
        query = (f"/disruption/allowed?kind=disruptions&name={row.key.name}&release={v.release}"
                 f"&from_release={v.from_release}&platform={v.platform}"
                 f"&architecture={v.architecture}&network={v.network}&topology={v.topology}")
        began = time.perf_counter()
        response = client.get(query, headers=headers)
        if index:  # the first request reads the version's rows into the cache
            times.append(time.perf_counter() - began)
        assert response.status_code == 200, response.get_data(as_text=True)
    return statistics.median(times) * 1000, statistics.median(floor) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--history", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", type=Path, default=None, help="keep the database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        build(url, args.tests, args.history)
        off, off_cpu, off_info = verdict_median(url, "off", args.repeat)
        on, on_cpu, on_info = verdict_median(url, "block", args.repeat)
        allowed, floor = allowed_median(url, max(50, args.repeat * 10))
    print(f"verdict without disruption (setting off): {off:.1f} ms median, {off_cpu:.1f} ms CPU "
          f"{off_info}")
    print(f"verdict with disruption (block):          {on:.1f} ms median, {on_cpu:.1f} ms CPU "
          f"{on_info}")
    print(f"ratio with/without: {on / off:.2f} wall, {on_cpu / off_cpu:.2f} CPU "
          "(target <= 1.20)")
    print(f"GET /disruption/allowed: {allowed:.2f} ms median (target <= 5 ms); "
          f"GET /jobs/{{job}} in the same app: {floor:.2f} ms; ratio {allowed / floor:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
