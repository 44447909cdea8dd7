"""Decision quality of the verdict policies, through the real store and verdict code.

For each simulated job (the mix of ``api/stats/simulate.py``: 3,000 tests, 88% stable, 3%
slightly flaky, 7% flaky, 2% very flaky), 200 history runs are stored as runs with their results,
a baseline is computed by ``api.services.baselines``, and then every simulated payload is
stored as its runs and judged by ``api.services.verdicts.judge_payload`` under each policy,
exactly as ``GET /payloads/{id}/verdict?policy=...`` would. The oracle, which knows every
test's true pass rate, judges the same payload counts (``api.stats.simulate.oracle``).

Reported: the false-block rate of good payloads (10 runs, and 3 runs), and per regression kind
the detection rate of the injected test (and bayes' detection as a fraction of the oracle's).

    python bench/decision_quality.py [--jobs 5] [--good 100] [--regressed 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.domain import (  # noqa: E402
    JobSpec,
    Payload,
    RunSpec,
    RunStatus,
    TestResult,
    TestStatus,
)
from api.services import baselines, verdicts  # noqa: E402
from api.stats import simulate  # noqa: E402
from api.store import Store, open_store  # noqa: E402

POLICIES = ("aggregator", "stddev", "bayes")
PLAYERS = (*POLICIES, "oracle")
JOB = "simulated-e2e"
STATUSES = tuple(TestStatus)
Scenario = tuple[str, int, simulate.Injection | None]  # name, runs, regression (None: good)


def store_runs(store: Store, job: simulate.SimJob, statuses: np.ndarray, *, payload: str,
               first_start: datetime) -> None:
    for index, row in enumerate(statuses):
        results = [TestResult(name=name, suite=suite, status=STATUSES[code])
                   for suite, name, code in zip(job.suites, job.names, row.tolist(),
                                                strict=True)]
        failed = bool((row == TestStatus.FAILED).any())
        store.put_run(RunSpec(job=JOB, run_id=f"{payload}-{index}", payload=payload,
                              status=RunStatus.FAILURE if failed else RunStatus.SUCCESS,
                              started_at=first_start + timedelta(minutes=index)), results)


def simulate_job(args: tuple[int, str, int, int, int]) -> Counter[tuple[str, str]]:
    """Runs one simulated job in its own database; counts (scenario, player) flags."""
    seed, workdir, good, regressed, history_runs = args
    rng = np.random.default_rng(seed)
    store = open_store(f"sqlite://{workdir}/job-{seed}.db")
    store.migrate()
    store.put_job(JobSpec(name=JOB))
    job = simulate.draw_job(rng, 3000)
    now = datetime.now(UTC)
    history = simulate.draw_payload_runs(rng, job.fail_rates, history_runs)
    store_runs(store, job, history, payload="history", first_start=now - timedelta(days=10))
    baselines.compute(store, JOB, now=now)
    history_counts = simulate.tally_statuses(history)

    scenarios: list[Scenario] = [
        *([("good", 10, None)] * good),
        *([("good, 3 runs", 3, None)] * (good // 2)),
        *[("permanent, 3 runs", 3, simulate.pick_injection(rng, job, "permanent", history_counts))
          for _ in range(regressed // 2)],
        *[(kind.name, 10, simulate.pick_injection(rng, job, kind, history_counts))
          for kind in simulate.REGRESSIONS for _ in range(regressed)],
    ]
    tally: Counter[tuple[str, str]] = Counter()
    for number, (scenario, runs, injection) in enumerate(scenarios):
        payload = f"payload-{number}"
        statuses = simulate.draw_payload_runs(rng, job.fail_rates, runs, injection=injection)
        store_runs(store, job, statuses, payload=payload, first_start=now)
        store.put_payload(Payload(id=payload, expected={JOB: runs}))
        tally[(scenario, "n")] += 1
        for policy in POLICIES:
            verdict = verdicts.judge_payload(store, payload, policy=policy, cache=None)
            flagged = {r.test for job_verdict in verdict.jobs for r in job_verdict.regressions}
            tally[(scenario, policy)] += _hit(flagged, injection, job)
        oracle_flags = simulate.oracle(job.fail_rates, simulate.tally_statuses(statuses))
        oracle_names = {job.names[i] for i in np.nonzero(oracle_flags)[0]}
        tally[(scenario, "oracle")] += _hit(oracle_names, injection, job)
    store.close()
    return tally


def _hit(flagged: set[str], injection: simulate.Injection | None,
         job: simulate.SimJob) -> int:
    """Good payload: 1 if anything was flagged (a false block). Regressed: 1 if the injected
    test was flagged (a detection)."""
    if injection is None:
        return int(bool(flagged))
    return int(job.names[injection.test] in flagged)


def render(tally: Counter[tuple[str, str]]) -> str:
    scenarios = list(dict.fromkeys(scenario for scenario, _ in tally))
    header = ["scenario (n)", *PLAYERS, "bayes / oracle"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scenario in scenarios:
        n = tally[(scenario, "n")]
        rates = {player: tally[(scenario, player)] / n for player in PLAYERS}
        ratio = ("-" if scenario.startswith("good") or not rates["oracle"]
                 else f"{rates['bayes'] / rates['oracle']:.2f}")
        what = "false blocks" if scenario.startswith("good") else "detected"
        cells = [f"{scenario}: {what} ({n})", *(f"{rates[p]:.1%}" for p in PLAYERS), ratio]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=5, help="simulated jobs (databases)")
    parser.add_argument("--good", type=int, default=100, help="good payloads per job")
    parser.add_argument("--regressed", type=int, default=40,
                        help="payloads per regression kind per job")
    parser.add_argument("--history-runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    began = time.perf_counter()
    seeds = np.random.SeedSequence(args.seed).generate_state(args.jobs).tolist()
    total: Counter[tuple[str, str]] = Counter()
    with tempfile.TemporaryDirectory(prefix="flakegate-dq-") as workdir, \
            ProcessPoolExecutor(args.workers) as pool:
        work = [(seed, workdir, args.good, args.regressed, args.history_runs)
                for seed in seeds]
        for tally in pool.map(simulate_job, work):
            total.update(tally)
    print(f"{args.jobs} simulated jobs x 3,000 tests, {args.history_runs}-run history, "
          f"seed {args.seed}, {time.perf_counter() - began:.0f} s\n")
    print(render(total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
