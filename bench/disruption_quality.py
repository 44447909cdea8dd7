"""Decision quality of the disruption payload policies (``aggregator``, ``bayes``), simulated.

Per-key distributions are drawn to match real origin baselines: each simulated job is one
variant of ``allowedbackenddisruption_query_results__origin_00c213…json`` with at least
``--min-keys`` backends of 100+ runs (their P50, P75, P95, P99), plus the alerts of one variant
of ``allowedalerts_query_results__origin_20def73…json`` (P95, P99 only: that layout has no P50
or P75, so half the runs are taken as 0 s and P75 as a quarter of P95, an assumption). A key's
seconds per run are ``ceil(Q(u))``, ``u`` uniform, ``Q`` linear between ``(0, 0)``, the
percentiles, and ``(1, 1.5 P99 + 1)``: zero-inflated whenever P50 (or P75) is 0, as in the file.
Keys are drawn independently (a simplification: real runs' disruptions correlate).

For each job: ``--history`` past runs (the job's history), then payloads of 5 and 10 runs:
good ones, and ones with one injected regression: a backend whose disruption doubles, one that
gains +10 s (both: a backend with P75 >= 1 s when the job has one, else P95 >= 1 s), an alert
that starts firing at its old P99 (every run at least ``ceil(P99)``, of an alert with P99 >= 1 s).
Reported per policy: the false-block rate of good payloads (per job, and the worst job), and
per kind the block rate and the detection rate (blocked on the injected key itself).

    python bench/disruption_quality.py [--jobs 10] [--good 200] [--per-kind 40] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.disruption import aggregator, bayes  # noqa: E402
from api.disruption.checks import CheckStatus, PayloadResult  # noqa: E402
from api.disruption.model import (  # noqa: E402
    MeasurementKey,
    MeasurementKind,
    RunMeasurements,
    Variant,
)

FIXTURES = ROOT.parent / "shared" / "fixtures" / "openshift"
DISRUPTIONS = ("allowedbackenddisruption_query_results__origin_"
               "00c213426f534ac8917808ec98b72d641104f85d.json")
ALERTS = "allowedalerts_query_results__origin_20def73ea61d5e0a804fa77341f1d004e0206036.json"
POLICIES: dict[str, Callable[..., PayloadResult]] = {
    "aggregator": aggregator.evaluate, "bayes": bayes.evaluate}
KINDS = ("doubled", "+10s", "alert at P99")
VARIANT = Variant("4.16", "", "sim", "amd64", "ovn", "ha")

Quantiles = tuple[np.ndarray, np.ndarray]  # (u points, seconds points)


def quantile_points(p50: float, p75: float, p95: float, p99: float) -> Quantiles:
    top = 1.5 * p99 + 1.0
    us = np.array([0.0, 0.5, 0.75, 0.95, 0.99, 1.0])
    return us, np.maximum.accumulate(np.array([0.0, p50, p75, p95, p99, top]))


def draw(q: Quantiles, rng: np.random.Generator, size: int) -> np.ndarray:
    return np.ceil(np.interp(rng.random(size), *q) - 1e-9).astype(np.int64)


def load_jobs(min_keys: int) -> tuple[list[dict[MeasurementKey, Quantiles]],
                                      list[dict[MeasurementKey, Quantiles]]]:
    backends: dict[tuple[str, ...], dict[MeasurementKey, Quantiles]] = defaultdict(dict)
    for r in json.loads((FIXTURES / DISRUPTIONS).read_text()):
        if r["JobRuns"] >= 100 and r["Topology"] != "single":
            at = (r["Release"], r["FromRelease"], r["Platform"], r["Architecture"],
                  r["Network"], r["Topology"])
            key = MeasurementKey(MeasurementKind.DISRUPTIONS, r["BackendName"])
            backends[at][key] = quantile_points(*(float(r[p]) for p in ("P50", "P75", "P95",
                                                                        "P99")))
    alerts: dict[tuple[str, ...], dict[MeasurementKey, Quantiles]] = defaultdict(dict)
    for r in json.loads((FIXTURES / ALERTS).read_text()):
        at = (r["Release"], r["FromRelease"], r["Platform"], r["Architecture"], r["Network"],
              r["Topology"])
        key = MeasurementKey(MeasurementKind.ALERTS, r["AlertName"], "", "Warning")
        p95, p99 = float(r["P95"]), float(r["P99"])
        alerts[at][key] = quantile_points(0.0, p95 / 4, p95, p99)
    jobs = [keys for _, keys in sorted(backends.items())
            if len(keys) >= min_keys and any(q[1][3] >= 1 for q in keys.values())]
    alert_sets = [keys for _, keys in sorted(alerts.items())
                  if any(q[1][4] >= 1 for q in keys.values())]
    return jobs, alert_sets


def payload(keys: dict[MeasurementKey, Quantiles], rng: np.random.Generator, k: int,
            change: Callable[[MeasurementKey, np.ndarray], np.ndarray] | None = None
            ) -> list[RunMeasurements]:
    columns = {key: draw(q, rng, k) for key, q in keys.items()}
    if change is not None:
        columns = {key: change(key, values) for key, values in columns.items()}
    return [RunMeasurements("sim", f"r{i}", VARIANT,
                            {key: int(values[i]) for key, values in columns.items()})
            for i in range(k)]


def injection(kind: str, keys: dict[MeasurementKey, Quantiles], rng: np.random.Generator
              ) -> tuple[MeasurementKey, Callable[[MeasurementKey, np.ndarray], np.ndarray]]:
    if kind == "alert at P99":
        pool = [key for key, q in keys.items()
                if key.kind is MeasurementKind.ALERTS and q[1][4] >= 1]
        target = pool[rng.integers(len(pool))]
        level = math.ceil(keys[target][1][4])
        return target, lambda key, v: np.maximum(v, level) if key == target else v
    # a backend with disruption to double or add to: P75 of at least 1 s when the job has one
    # (doubling zeros changes nothing), else P95
    backends = {key: q for key, q in keys.items() if key.kind is MeasurementKind.DISRUPTIONS}
    pool = ([key for key, q in backends.items() if q[1][2] >= 1]
            or [key for key, q in backends.items() if q[1][3] >= 1])
    target = pool[rng.integers(len(pool))]
    if kind == "doubled":
        return target, lambda key, v: v * 2 if key == target else v
    return target, lambda key, v: v + 10 if key == target else v


def judge(keys_history: dict[MeasurementKey, list[int]], runs: list[RunMeasurements]
          ) -> dict[str, PayloadResult]:
    return {name: policy(runs, keys_history) for name, policy in POLICIES.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--good", type=int, default=200, help="good payloads per job and size")
    parser.add_argument("--per-kind", type=int, default=40,
                        help="regressed payloads per job, size and kind")
    parser.add_argument("--history", type=int, default=100, help="past runs per job")
    parser.add_argument("--min-keys", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    backend_jobs, alert_sets = load_jobs(args.min_keys)
    picked = rng.choice(len(backend_jobs), size=min(args.jobs, len(backend_jobs)), replace=False)
    started = time.perf_counter()
    blocked: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    detected: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    per_job_fb: dict[tuple[str, int], list[float]] = defaultdict(list)
    n_keys = []
    for j in picked:
        keys = dict(backend_jobs[int(j)])
        keys.update(alert_sets[int(rng.integers(len(alert_sets)))])
        n_keys.append(len(keys))
        history = {key: draw(q, rng, args.history).tolist() for key, q in keys.items()}
        for k in args.sizes:
            good_blocks = defaultdict(int)
            for _ in range(args.good):
                for name, result in judge(history, payload(keys, rng, k)).items():
                    hit = result.status is CheckStatus.FAIL
                    blocked[(name, k, "good")].append(hit)
                    good_blocks[name] += hit
            for name in POLICIES:
                per_job_fb[(name, k)].append(good_blocks[name] / args.good)
            for kind in KINDS:
                for _ in range(args.per_kind):
                    target, change = injection(kind, keys, rng)
                    for name, result in judge(history, payload(keys, rng, k, change)).items():
                        blocked[(name, k, kind)].append(result.status is CheckStatus.FAIL)
                        detected[(name, k, kind)].append(
                            any(c.key == target for c in result.failed))
    elapsed = time.perf_counter() - started
    print(f"{len(picked)} jobs ({min(n_keys)}-{max(n_keys)} keys each: backends of one origin "
          f"variant + one alert variant), {args.history} history runs; {elapsed:.1f} s")
    print(f"{'policy':<11}{'runs':>5}{'false blocks':>14}{'worst job':>11}"
          + "".join(f"{kind + ' det (blk)':>24}" for kind in KINDS))
    for k in args.sizes:
        for name in POLICIES:
            fb = float(np.mean(blocked[(name, k, "good")]))
            worst = max(per_job_fb[(name, k)])
            cells = "".join(f"{np.mean(detected[(name, k, kind)]):>15.1%} "
                            f"({np.mean(blocked[(name, k, kind)]):>6.1%})" for kind in KINDS)
            print(f"{name:<11}{k:>5}{fb:>14.2%}{worst:>11.1%}{cells}")
    ratios = []
    for k in args.sizes:
        for kind in KINDS:
            agg = float(np.mean(detected[("aggregator", k, kind)]))
            bay = float(np.mean(detected[("bayes", k, kind)]))
            ratios.append(f"{kind}@{k}: {bay / agg if agg else math.inf:.2f}x")
    print("bayes/aggregator detection: " + ", ".join(ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
