"""A verdict never counts the judged payload's own runs, however the baseline was computed
(SPEC section 5, fail-safe rules); through the services layer, on every backend.

The case a tester met: 60 good runs of history, a payload whose 10 runs all fail one test, then
a baseline recomputed after those runs arrived without ``exclude_payload``. Before, the
regressed test's baseline fell from 100% to 85.7% and its allowed failures rose from 2 to 6.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.domain import RunSpec, RunStatus, TestResult, TestStatus
from api.services import baselines, verdicts
from api.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)
TESTS = [f"t{i}" for i in range(8)]


def put_runs(store: Store, payload: str, count: int, *, failing: str | None,
             start: datetime) -> None:
    for i in range(count):
        results = [TestResult(name, "e2e", TestStatus.FAILED if name == failing
                              else TestStatus.PASSED) for name in TESTS]
        status = RunStatus.FAILURE if failing else RunStatus.SUCCESS
        store.put_run(RunSpec(job="e2e", run_id=f"{payload}-{i}", status=status,
                              payload=payload, started_at=start + timedelta(minutes=i)), results)


def evidence(store: Store, policy: str) -> tuple[str, list[tuple[str, float, float | None]]]:
    found = verdicts.judge_payload(store, "new", policy=policy)
    (job,) = found.jobs
    return found.verdict, [(r.test, r.baseline_pass_rate, r.allowed_failures)
                           for r in job.regressions]


def test_a_baseline_computed_after_the_payloads_runs_changes_no_verdict(store: Store) -> None:
    for day in range(6):
        put_runs(store, f"old{day}", 10, failing=None, start=NOW - timedelta(days=6 - day))
    first = baselines.compute(store, "e2e", now=NOW)
    assert first.runs == 60
    put_runs(store, "new", 10, failing="t3", start=NOW - timedelta(hours=1))
    before = {policy: evidence(store, policy) for policy in ("bayes", "stddev", "aggregator")}
    assert all(verdict == "fail" and [test for test, *_ in regressions] == ["t3"]
               for verdict, regressions in before.values()), before
    assert before["stddev"][1][0][1] == 1.0
    dishonest = baselines.compute(store, "e2e", now=NOW)  # no exclude_payload
    assert (dishonest.version, dishonest.runs) == (2, 70)
    after = {policy: evidence(store, policy) for policy in ("bayes", "stddev", "aggregator")}
    assert after == before
