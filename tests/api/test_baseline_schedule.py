"""The baseline schedule's sweep, without a server: what one tick does, what the leases stop,
and that ``make run`` (``flakegate demo`` then ``flakegate serve``) mints no version on restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.demo import load_demo
from api.domain import RunSpec, RunStatus, TestResult, TestStatus
from api.serving.baseline_schedule import BaselineSchedule, schedule_period
from api.store import Store, open_store


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'sweep.db'}"


@pytest.fixture
def store(url: str) -> Store:
    handle = open_store(url)
    handle.migrate()
    return handle


def put_runs(store: Store, job: str, count: int, first: int = 0) -> None:
    for i in range(first, first + count):
        store.put_run(RunSpec(job=job, run_id=str(i), status=RunStatus.SUCCESS, payload=f"p{i}"),
                      [TestResult("t", "s", TestStatus.PASSED)])


def test_the_period_setting_parses_durations_and_zero_is_off() -> None:
    assert schedule_period({"BASELINE_EVERY": "6h"}) == 6 * 3600
    assert schedule_period({"BASELINE_EVERY": "30s"}) == 30
    assert schedule_period({"BASELINE_EVERY": "0"}) == 0
    with pytest.raises(ValueError, match="FLAKEGATE_BASELINE_EVERY"):
        schedule_period({"BASELINE_EVERY": "soon"})


def test_a_sweep_gives_a_first_baseline_only_with_enough_history(url: str, store: Store) -> None:
    put_runs(store, "young", 2)
    put_runs(store, "grown", 3)
    done = BaselineSchedule(url, 3600).sweep(store)
    assert {r.job: (r.written, r.version.version if r.version else None) for r in done} == {
        "young": (False, None), "grown": (True, 1)}
    assert store.get_baseline("young") is None


def test_one_sweep_per_tick_and_one_full_pass_per_period(url: str, store: Store) -> None:
    put_runs(store, "j", 3)
    first, second = BaselineSchedule(url, 3600), BaselineSchedule(url, 3600)
    assert [r.written for r in first.sweep(store)] == [True]
    assert second.sweep(store) == [], "the tick is taken"
    store.release_lease("baselines:tick", first.holder)
    put_runs(store, "j", 1, first=3)
    assert second.sweep(store) == [], "within the period only jobs without a baseline"
    store.release_lease("baselines:tick", second.holder)
    store.release_lease("baselines:period", first.holder)
    assert [(r.written, r.runs) for r in second.sweep(store)] == [(True, 4)]
    assert store.acquire_lease("baseline:j", "someone", 60)  # a recompute in progress elsewhere
    store.release_lease("baselines:tick", second.holder)
    store.release_lease("baselines:period", second.holder)
    assert first.sweep(store) == [], "a job being recomputed elsewhere is skipped"


def test_make_run_restarted_writes_no_new_version(url: str, store: Store) -> None:
    now = datetime.now(UTC)  # both loads in the same hour: the demo's runs are then identical
    load_demo(store, now=now)
    before = {job.name: store.get_baseline(job.name) for job in
              store.list_jobs(limit=10).items}
    load_demo(store, now=now)  # `make run` again: the demo reloads, then the server's first sweep
    done = BaselineSchedule(url, 6 * 3600).sweep(store)
    assert [r.written for r in done] == [False] * len(before)
    assert {name: store.get_baseline(name) for name in before} == before


def test_the_full_pass_refreshes_disruption_baselines_once_when_changed(url: str,
                                                                        store: Store) -> None:
    from api.disruption.artifacts import ArtifactKind, ParsedArtifact
    from api.disruption.model import MeasurementKey, MeasurementKind

    schedule = BaselineSchedule(url, 3600)
    schedule.sweep(store)
    assert store.disruption.baseline_version(MeasurementKind.DISRUPTIONS) is None, \
        "no measurements: no empty version"
    store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS,
                          started_at=datetime.now(UTC)))
    store.disruption.put_artifacts("j", "1", [], [ParsedArtifact(
        "backend-disruption.json", "a" * 64, ArtifactKind.DISRUPTIONS,
        {MeasurementKey(MeasurementKind.DISRUPTIONS, "kube-api"): 4})])
    for lease in ("baselines:tick", "baselines:period"):
        store.release_lease(lease, schedule.holder)
    schedule.sweep(store)
    made = store.disruption.baseline_version(MeasurementKind.DISRUPTIONS)
    assert made is not None and (made.version, made.rows, made.actor) == (1, 1, "schedule")
    assert store.disruption.baseline_version(MeasurementKind.ALERTS) is None
    for lease in ("baselines:tick", "baselines:period"):
        store.release_lease(lease, schedule.holder)
    schedule.sweep(store)  # unchanged window: no new version
    assert store.disruption.baseline_version(MeasurementKind.DISRUPTIONS).version == 1  # type: ignore[union-attr]
