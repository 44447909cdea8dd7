"""The store contract for ``verdict_inputs`` (every backend runs it): one call returns what
the separate reads (``get_payload``, ``payload_runs``, ``get_job``, ``get_baseline``) return."""

from __future__ import annotations

from datetime import UTC, datetime

from api.domain import JobSpec, Payload, RunSpec, RunStatus, TestResult, TestStatus
from api.stats.types import Prior, TestBaseline
from api.store import Store, VerdictInputs

DEADLINE = datetime(2026, 12, 1, tzinfo=UTC)


def run(store: Store, job: str, run_id: str, *, payload: str = "p",
        status: RunStatus = RunStatus.SUCCESS) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=status, payload=payload),
                  [TestResult("a", "s", TestStatus.PASSED)])


def baseline(store: Store, job: str) -> None:
    store.put_baseline(job, window_days=14, max_runs=200, exclude_payload=None, latch=False,
                       runs=1, prior=Prior(1.0, 1.0), tests=[TestBaseline("s", "a", 1, 1, 0, 0, 1.0,
                                                                  0.0)])


def separately(store: Store, payload: str, names: list[str]) -> VerdictInputs:
    """What the verdict used to gather with one call per job."""
    jobs = {name: job for name in names if (job := store.get_job(name)) is not None}
    baselines = {name: found for name in names
                 if (found := store.get_baseline(name)) is not None}
    return VerdictInputs(payload=store.get_payload(payload),
                         runs=tuple(store.payload_runs(payload)), jobs=jobs, baselines=baselines)


def test_verdict_inputs_of_an_unknown_payload_are_empty(store: Store) -> None:
    run(store, "j", "1", payload="other")
    assert store.verdict_inputs("nope") == VerdictInputs(None, (), {}, {})


def test_verdict_inputs_match_the_separate_reads(store: Store) -> None:
    store.put_job(JobSpec("expected-only", policy="strict", settings={"informing": ["s.*"]}))
    store.put_job(JobSpec("uninvolved", expected_runs=3))
    baseline(store, "uninvolved")
    store.put_payload(Payload(id="p", expected={"expected-only": 2, "never-created": 1,
                                                "ran": 2}, deadline=DEADLINE))
    run(store, "ran", "1")
    run(store, "ran", "2", status=RunStatus.PENDING)
    run(store, "also-ran", "1", status=RunStatus.ERROR)
    baseline(store, "ran")
    baseline(store, "ran")  # the newest version is the one returned
    baseline(store, "expected-only")
    found = store.verdict_inputs("p")
    names = ["also-ran", "expected-only", "never-created", "ran"]
    assert found == separately(store, "p", names)
    assert set(found.jobs) == {"also-ran", "expected-only", "ran"}
    assert {name: b.version for name, b in found.baselines.items()} == {"expected-only": 1,
                                                                        "ran": 2}
    assert [(r.job, r.total, r.finished, r.counted) for r in found.runs] == [
        ("also-ran", 1, 1, 0), ("ran", 2, 1, 1)]


def test_verdict_inputs_without_a_registration_cover_the_jobs_with_runs(store: Store) -> None:
    run(store, "b", "1")
    run(store, "a", "1", status=RunStatus.FAILURE)
    baseline(store, "b")
    found = store.verdict_inputs("p")
    assert found.payload is None
    assert [r.job for r in found.runs] == ["a", "b"]
    assert found == separately(store, "p", ["a", "b"])


def test_verdict_inputs_of_a_registration_without_runs(store: Store) -> None:
    store.put_payload(Payload(id="p", expected={"j": 1}))
    found = store.verdict_inputs("p")
    assert found.payload == store.get_payload("p") and found.runs == ()
    assert found.jobs == {} and found.baselines == {}
    store.put_job(JobSpec("j"))
    assert store.verdict_inputs("p").jobs == {"j": store.get_job("j")}
