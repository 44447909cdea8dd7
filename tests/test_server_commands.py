"""The server subcommands of ``flakegate`` (db init, token create, demo, baseline, serve) against a
real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.auth import hash_token
from api.domain import Scope
from api.store import open_store
from client.cli import main


def test_db_init_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'x.db'}"
    assert main(["db", "init", "--db", url]) == 0
    first = capsys.readouterr().out
    assert main(["db", "init", "--db", url]) == 0
    assert capsys.readouterr().out == first
    assert "schema version" in first


def test_token_create_prints_a_token_stored_only_hashed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite://{tmp_path / 'x.db'}"
    assert main(["token", "create", "--scope", "write", "--db", url]) == 2, "no db init yet"
    assert not (tmp_path / "x.db").exists()
    assert main(["db", "init", "--db", url]) == 0
    capsys.readouterr()
    assert main(["token", "create", "--scope", "write", "--label", "ci", "--db", url]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("fg_") and len(token) > 40
    store = open_store(url)
    try:
        assert getattr(store.find_token(hash_token(token)), "scope", None) is Scope.WRITE
        assert store.find_token(token) is None
    finally:
        store.close()


def test_usage_errors_exit_2_and_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert main(["token", "create", "--scope", "root"]) == 2
    assert main(["--help"]) == 0
    assert "serve" in capsys.readouterr().out


def test_demo_loads_a_history_whose_regression_the_verdict_catches(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from api.services import verdicts

    url = f"sqlite://{tmp_path / 'demo.db'}"
    assert main(["demo", "--db", url]) == 0
    printed = capsys.readouterr().out
    token = next(line for line in printed.splitlines() if line.startswith("TOKEN="))[6:]
    assert "/verdict" in printed
    store = open_store(url)
    try:
        assert getattr(store.find_token(hash_token(token)), "scope", None) is Scope.ADMIN
        payload = next(line.split()[-1] for line in printed.splitlines()
                       if "newest payload" in line)
        verdict = verdicts.judge_payload(store, payload, cache=None)
        assert verdict.verdict == "fail"
        failing = [job for job in verdict.jobs if job.verdict == "fail"]
        assert len(failing) == 1
        regressed = next(line for line in printed.splitlines() if "injected regression" in line)
        assert [r.test for r in failing[0].regressions] == [regressed.split("'")[1]]
        assert all(job.baseline is not None for job in verdict.jobs)
    finally:
        store.close()


def test_demo_payload_shows_disruption_and_why_runs_failed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's newest payload has a disruption section (one measured job, judged against
    its own history, both kinds' baselines stored) and classified failed runs: flaky and infra
    causes from the curated patterns, an excused infra run, the regression's runs unexplained
    and clustered on its assertion line."""
    from datetime import UTC, datetime, timedelta

    from api.demo import DEMO_JOBS
    from api.disruption.model import MeasurementKind
    from api.services import failure_logs, failures, verdicts

    url = f"sqlite://{tmp_path / 'demo.db'}"
    assert main(["demo", "--db", url]) == 0
    printed = capsys.readouterr().out
    assert "/failures" in printed and "format=origin" in printed
    payload = next(line.split()[-1] for line in printed.splitlines() if "newest payload" in line)
    store = open_store(url)
    try:
        verdict = verdicts.judge_payload(store, payload, cache=None)
        sections = {job.job: job.disruption for job in verdict.jobs}
        measured = sections.pop(DEMO_JOBS[0][0])
        assert measured is not None and measured.runs == 10
        assert set(sections.values()) == {None}  # only the first job sends measurements
        for kind in MeasurementKind:
            newest = store.disruption.baseline_version(kind)
            assert newest is not None and newest.rows > 0 and newest.actor == "demo"

        by_job = {job.job: job.failures for job in verdict.jobs}
        regressed = by_job[DEMO_JOBS[0][0]]
        assert regressed is not None and regressed.counts["new"] == 10
        counts = {cls: sum(f.counts[cls] for f in by_job.values() if f) for cls in
                  ("flaky", "infra", "new")}
        assert counts["flaky"] > 0 and counts["infra"] > 0
        excused = [job for job in verdict.jobs if job.notes.get("excused")]
        assert excused and all(job.verdict == "pass" for job in excused)

        report = failures.unexplained_clusters(
            store, since=datetime.now(UTC) - timedelta(days=14), job=None, limit=1000,
            log_lines=failure_logs.reader(store))
        top = report.clusters[0]
        assert top.count == 10 and "Expected volume content" in top.normal
    finally:
        store.close()


def test_baseline_compute_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite://{tmp_path / 'demo.db'}"
    main(["demo", "--db", url])
    capsys.readouterr()
    job = "periodic-ci-openshift-release-master-nightly-4.19-e2e-aws-ovn"
    assert main(["baseline", "compute", job, "--db", url, "--max-runs", "10"]) == 0
    assert "baseline v2 from 10 runs" in capsys.readouterr().out
    assert main(["baseline", "show", job, "--db", url, "--top", "3", "--format", "text"]) == 0
    shown = capsys.readouterr().out
    assert "baseline v2" in shown and len(shown.strip().splitlines()) == 5
    assert main(["baseline", "show", job, "--db", url, "--top", "3", "--json"]) == 0
    shown_json = json.loads(capsys.readouterr().out)
    assert shown_json["baseline"]["version"] == 2 and len(shown_json["tests"]) == 3
    rates = [test["pass_rate"] for test in shown_json["tests"]]
    assert rates == sorted(rates)  # the least stable first
    assert main(["baseline", "show", "nope", "--db", url]) == 2
    assert main(["baseline", "compute", "--db", url]) == 2, "a job or --all is required"
    assert main(["baseline", "compute", "--all", "--db", url]) == 0
    assert capsys.readouterr().out.count("baseline v") == 3


@pytest.mark.slow
def test_serve_recomputes_baselines_on_a_schedule(tmp_path: Path) -> None:
    import time

    from api.domain import RunSpec, RunStatus
    from tests.live_server import LiveServer

    url = f"sqlite://{tmp_path / 'sched.db'}"
    main(["db", "init", "--db", url])
    store = open_store(url)
    for run_id in "123":  # a first baseline waits for 3 counted runs
        store.put_run(RunSpec(job="j", run_id=run_id, status=RunStatus.SUCCESS), [])
    # The deprecated flag still sets the schedule (FLAKEGATE_BASELINE_EVERY).
    server = LiveServer(url, "fg_admin-long-enough-for-the-32-char-rule", workers=1,
                        extra_args=["--recompute-every", "1s"])
    server.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            version = store.get_baseline("j")
            if version is not None:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"no recomputed baseline within 30 s:\n{server.log()}")
    finally:
        server.stop()
        store.close()
