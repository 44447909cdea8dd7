"""The decision-quality table of the three policies and the oracle, from the pure functions.

``python bench/simulate.py`` (or ``python -m bench.simulate``; ``--help`` for sizes) simulates
jobs with :mod:`api.stats.simulate` (the job mix, regressions and oracle are described there)
and prints two tables: Monte Carlo block / detection rates over sampled payloads, and the exact
expectations per job (:func:`api.stats.simulate.exact_rates`). No store is involved;
``bench/decision_quality.py`` runs the same simulation through the store and verdict service.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.stats import policies
from api.stats.baseline import compute_baseline
from api.stats.evidence import prepare_evidence
from api.stats.simulate import (
    KINDS,
    REGRESSIONS,
    Counts,
    Injection,
    SimJob,
    blocking_matrix,
    draw_history,
    draw_job,
    draw_payload_counts,
    exact_rates,
    oracle_blocking_matrix,
    oracle_cuts,
    pick_injection,
)
from api.stats.types import ComputedBaseline

POLICY_NAMES = ("aggregator", "stddev", "bayes")

# -- Monte Carlo -----------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """Monte Carlo hit counts per (scenario, policy), and exact expectations summed per job."""

    hits: dict[tuple[str, str], int] = field(default_factory=dict)
    trials: dict[str, int] = field(default_factory=dict)
    exact: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, scenario: str, flagged: dict[str, bool]) -> None:
        self.trials[scenario] = self.trials.get(scenario, 0) + 1
        for policy, hit in flagged.items():
            key = (scenario, policy)
            self.hits[key] = self.hits.get(key, 0) + int(hit)

    def add_exact(self, policy: str, rates: dict[str, float], suffix: str = "") -> None:
        for scenario, value in rates.items():
            self.exact.setdefault((scenario + suffix, policy), []).append(value)

    def merge(self, other: Tally) -> None:
        for key, hits in other.hits.items():
            self.hits[key] = self.hits.get(key, 0) + hits
        for scenario, trials in other.trials.items():
            self.trials[scenario] = self.trials.get(scenario, 0) + trials
        for key, values in other.exact.items():
            self.exact.setdefault(key, []).extend(values)

    def rate(self, scenario: str, policy: str) -> float:
        return self.hits.get((scenario, policy), 0) / max(1, self.trials.get(scenario, 0))

    def expected(self, scenario: str, policy: str) -> float:
        values = self.exact.get((scenario, policy), [])
        return float(np.nanmean(values)) if values else float("nan")


def _judge(
    job: SimJob,
    base: ComputedBaseline,
    counts: Counts,
    injection: Injection | None,
    oracle_cache: dict[bytes, np.ndarray],
) -> dict[str, bool]:
    ev = prepare_evidence(counts.tallies(job), base.tests)
    flagged = {}
    target = None if injection is None else job.names[injection.test]
    for name in POLICY_NAMES:
        result = policies.evaluate(name, ev, base.tests, base.prior)
        if target is None:
            flagged[name] = result.verdict == "fail"
        else:
            flagged[name] = any(r.test == target for r in result.regressions)
    k = counts.passes + counts.flakes + counts.failures
    cuts = oracle_cache.get(k.tobytes())
    if cuts is None:
        cuts = oracle_cache[k.tobytes()] = oracle_cuts(job.fail_rates, k)
    hits = (counts.failures >= cuts) & (k > 0)
    flagged["oracle"] = bool(hits.any()) if injection is None else bool(hits[injection.test])
    return flagged


def simulate_job(
    seed: np.random.SeedSequence,
    *,
    n_tests: int = 3000,
    n_history: int = 200,
    k: int = 10,
    good: int = 50,
    per_kind: int = 10,
    small_k: int = 3,
    small_good: int = 10,
    exact: bool = True,
) -> Tally:
    """One job: history, baseline + prior fit, then good and regressed payloads (regressions
    picked by baseline pass rate), plus the exact expectations for the job."""
    rng = np.random.default_rng(seed)
    job = draw_job(rng, n_tests)
    history = draw_history(rng, job.fail_rates, n_history)
    base = compute_baseline(history.tallies(job))
    tally = Tally()
    cache: dict[bytes, np.ndarray] = {}
    for _ in range(good):
        counts = draw_payload_counts(rng, job.fail_rates, k)
        tally.add("good", _judge(job, base, counts, None, cache))
    for kind in REGRESSIONS:
        for _ in range(per_kind):
            inj = pick_injection(rng, job, kind, history)
            counts = draw_payload_counts(rng, job.fail_rates, k, injection=inj)
            tally.add(kind.name, _judge(job, base, counts, inj, cache))
    for _ in range(small_good):
        counts = draw_payload_counts(rng, job.fail_rates, small_k)
        tally.add(f"good k={small_k}", _judge(job, base, counts, None, cache))
    for _ in range(per_kind):
        inj = pick_injection(rng, job, "permanent", history)
        counts = draw_payload_counts(rng, job.fail_rates, small_k, injection=inj)
        tally.add(f"permanent k={small_k}", _judge(job, base, counts, inj, cache))
    if exact:
        for runs, suffix in ((k, ""), (small_k, f" k={small_k}")):
            for name in POLICY_NAMES:
                block = blocking_matrix(name, job, base, runs)
                tally.add_exact(name, exact_rates(block, job, history, runs), suffix)
            block = oracle_blocking_matrix(job, runs)
            tally.add_exact("oracle", exact_rates(block, job, history, runs), suffix)
    return tally


def run(seed: int = 20261120, jobs: int = 20, workers: int = 2, **kwargs: Any) -> Tally:
    """Simulate ``jobs`` independent jobs (one seed each, so results do not depend on
    ``workers``) and merge their tallies."""
    seeds = np.random.SeedSequence(seed).spawn(jobs)
    total = Tally()
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(_simulate_job_kw, [(s, kwargs) for s in seeds]):
                total.merge(part)
    else:
        for s in seeds:
            total.merge(simulate_job(s, **kwargs))
    return total


def _simulate_job_kw(args: tuple[np.random.SeedSequence, dict[str, Any]]) -> Tally:
    seed, kwargs = args
    return simulate_job(seed, **kwargs)


# -- report ----------------------------------------------------------------------------------

PLAYERS = (*POLICY_NAMES, "oracle")


def _render(rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if c == 0 else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _ratio_row(values: dict[tuple[str, str], float], scenarios: Sequence[str]) -> list[str]:
    row = ["bayes/oracle"]
    for s in scenarios:
        o, b = values.get(("oracle", s), 0.0), values.get(("bayes", s), 0.0)
        row.append("-" if s.startswith("good") or not o else f"{b / o:.2f}")
    return row


def format_table(tally: Tally) -> str:
    """The Monte Carlo table: observed block / detection rates."""
    scenarios = ["good", *KINDS, "good k=3", "permanent k=3"]
    rows = [["policy"] + [f"{s} (n={tally.trials.get(s, 0)})" for s in scenarios]]
    values = {(p, s): tally.rate(s, p) for p in PLAYERS for s in scenarios}
    for policy in PLAYERS:
        rows.append([policy] + [f"{values[policy, s]:.1%}" for s in scenarios])
    rows.append(_ratio_row(values, scenarios))
    return _render(rows)


def format_exact(tally: Tally) -> str:
    """Expected rates, exact given each simulated job (no payload sampling noise)."""
    scenarios = ["good"]
    for kind in KINDS:
        scenarios += [f"{kind} [baseline]", f"{kind} [true]"]
    scenarios += ["good k=3", "permanent [baseline] k=3"]
    rows = [["policy", *scenarios]]
    values = {(p, s): tally.expected(s, p) for p in PLAYERS for s in scenarios}
    for policy in PLAYERS:
        rows.append([policy] + [f"{values[policy, s]:.2%}" for s in scenarios])
    rows.append(_ratio_row(values, scenarios))
    return _render(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="simulated jobs")
    parser.add_argument("--tests", type=int, default=3000, help="tests per job")
    parser.add_argument("--good", type=int, default=50, help="good payloads per job")
    parser.add_argument("--per-kind", type=int, default=10,
                        help="regressed payloads per regression kind per job")
    parser.add_argument("--small-good", type=int, default=10,
                        help="good payloads of 3 runs per job")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261120)
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(args.seed, args.jobs, args.workers, n_tests=args.tests, good=args.good,
                 per_kind=args.per_kind, small_good=args.small_good)
    print(
        f"Job: {args.tests:,} tests (mix in api/stats/simulate.py), 200-run history, k = 10 runs\n"
        f"per payload unless noted, false-block budget 1%, {args.jobs} jobs, seed {args.seed}.\n\n"
        "Monte Carlo. good = share of good payloads blocked (any test); other columns = share of\n"
        "regressed payloads in which the injected test is flagged. Regressed tests are picked by\n"
        "baseline pass rate (stable: >= 99.8%, i.e. no failure in 200 runs; flaky: 95-99%;\n"
        "permanent: >= 95%)."
    )
    print(format_table(result))
    print(
        f"\nExact expectations over the same {args.jobs} jobs (binomial sums over each test's\n"
        "blocking set, from the real policy functions): [baseline] picks regressed tests by\n"
        "baseline pass rate as above, [true] by true pass rate."
    )
    print(format_exact(result))
    print(f"\n{sum(result.trials.values())} payloads in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
