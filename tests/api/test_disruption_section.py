"""The disruption section built from measurements already read (no store), and its Markdown."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from typing import cast

from api.disruption.matcher import index_rows
from api.disruption.model import (
    BaselineRow,
    MeasurementKey,
    MeasurementKind,
    RunMeasurements,
    Variant,
)
from api.services import verdict_disruption, verdict_disruption_markdown
from api.services.disruption_inputs import (
    JobMeasurements,
    KindHistory,
    _identity,
    previous_release_job,
)
from api.services.job_settings import JobSettings
from api.services.verdicts import JobVerdict, RunsSummary
from api.store import Store

JOB = "periodic-ci-openshift-release-master-ci-4.16-upgrade-from-stable-4.15-e2e-aws-ovn-upgrade"
HOSTILE = "kube-api|## [x](https://evil.example) @team"
KEY = MeasurementKey(MeasurementKind.DISRUPTIONS, HOSTILE)
VARIANT = Variant("4.16", "4.15", "aws", "amd64", "ovn", "ha")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def measurements(seconds: list[int], history: list[int], job: str = JOB) -> JobMeasurements:
    runs = tuple(RunMeasurements(JOB, f"r{i}", VARIANT, {KEY: s}, "p", NOW)
                 for i, s in enumerate(seconds))
    past = KindHistory(MeasurementKind.DISRUPTIONS, {KEY: history}, len(history), job,
                       NOW - timedelta(days=10), NOW - timedelta(days=3))
    return JobMeasurements(runs, {MeasurementKind.DISRUPTIONS: past})


def index(p99: float) -> dict:
    return {MeasurementKind.DISRUPTIONS: index_rows([BaselineRow(KEY, VARIANT, 500, p99, p99)])}


def test_the_deciding_policy_comes_first_and_blocks_only_under_block() -> None:
    found = measurements([20, 22, 24, 22, 20, 12, 11, 10, 11, 12], [10, 11, 12] * 40)
    section = verdict_disruption.build(found, JobSettings(), index(12.0))
    assert [r.policy for r in section.policies] == ["bayes", "aggregator"]
    assert section.verdict == "fail" and section.blocking and section.runs == 10
    informed = verdict_disruption.build(found, JobSettings(disruption="inform",
                                                           disruption_policy="aggregator"),
                                        index(12.0))
    assert informed.policy == "aggregator" and not informed.blocking
    assert "not blocking" in informed.reason


def test_single_run_failures_are_listed() -> None:
    found = measurements([20, 10, 10], [10] * 50)
    section = verdict_disruption.build(found, JobSettings(), index(5.0))  # allowed 10 s
    assert section.single_run_checked == 3
    assert [(c.run_id, c.seconds) for c in section.single_run] == [("r0", 20)]


def test_a_history_borrowed_from_the_previous_release_is_named() -> None:
    older = JOB.replace("4.16", "4.15").replace("4.15-e2e", "4.14-e2e")
    found = measurements([10] * 10, [10] * 50, job=older)
    section = verdict_disruption.build(found, JobSettings(), index(12.0))
    assert section.history[0].job == older
    check = section.policies[0].checks[0]
    assert check.reason.startswith(f"disruptions history from {older} (50 runs): ")


def test_previous_release_job_name() -> None:
    assert previous_release_job(JOB) == JOB.replace("ci-4.16-upgrade-from-stable-4.15",
                                                    "ci-4.15-upgrade-from-stable-4.14")
    assert previous_release_job("e2e-aws") is None


def test_markdown_escapes_names_and_reasons() -> None:
    found = measurements([20, 22, 24, 22, 20, 12, 11, 10, 11, 12], [10, 11, 12] * 40)
    section = verdict_disruption.build(found, JobSettings(), index(1.0))
    job = JobVerdict(job="e2e|x", verdict="fail", policy="bayes",
                     runs=RunsSummary(10, 10, 10, 0), baseline=None, tests_checked=0,
                     regressions=(), notes={}, reason="r", disruption=section)
    text = "\n".join(verdict_disruption_markdown.lines([job]))
    assert "### Disruption and alerts" in text
    assert "\\#\\# \\[x\\](https:" in text and "@\u2060team" in text
    assert "e2e\\|x" in text and "kube-api\\|" in text
    # every row keeps its table's column count: a name cannot add cells
    columns = 0
    for line in text.splitlines():
        if line.startswith("| job |"):
            columns = line.count("|")
        elif line.startswith("| e2e"):
            assert line.replace("\\|", "").count("|") == columns, line


def test_the_index_cache_tells_databases_apart() -> None:
    class SqliteStore:
        def __init__(self, path: str) -> None:
            self.path = path

    class BigQueryStore:
        project, dataset = "p", "d"

    def of(store: object) -> Hashable:
        return _identity(cast(Store, store))

    assert of(SqliteStore("/a.db")) == of(SqliteStore("/a.db")) != of(SqliteStore("/b.db"))
    assert of(BigQueryStore())[1] == ("p", "d")
