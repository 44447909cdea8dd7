"""The best-match ladder, step by step, and on origin's own file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from api.disruption.matcher import (
    LADDER,
    THIN_EXACT_LADDER,
    best_match,
    index_rows,
    match,
    micro_upgrade,
    previous_release,
)
from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant
from tests.disruption.origin_rows import DISRUPTIONS_00C213, origin_rows

KEY = MeasurementKey(MeasurementKind.DISRUPTIONS, "kube-api-new-connections")
RUN = Variant("4.15", "4.14", "gcp", "arm64", "ovn", "ha")


def row(variant: Variant, runs: int = 150, p99: float = 9.0, key: MeasurementKey = KEY
        ) -> BaselineRow:
    return BaselineRow(key=key, variant=variant, job_runs=runs, p95=p99 / 2, p99=p99)


def test_the_ladder_is_origins_order() -> None:
    names = [step.name for step in LADDER]
    assert names[:3] == ["micro upgrade", "previous release", "previous release micro upgrade"]
    assert names[3:7] == ["amd64", "ppc64le", "s390x", "arm64"]
    assert names[7] == "amd64 micro upgrade" and names[11] == "amd64 previous release"
    assert names[15] == "amd64 previous release micro upgrade"
    assert names[-3:] == ["single-node on sdn", "single-node on sdn previous release",
                          "single-node on sdn previous release micro upgrade"]
    assert len(names) == len(set(names)) == 22
    assert THIN_EXACT_LADDER[0].name == "previous release"


def test_exact_row_with_100_runs_wins() -> None:
    match = best_match(index_rows([row(RUN, runs=100)]), KEY, RUN)
    assert match.step == "exact" and match.row is not None and match.reason.startswith("exact")


def test_master_nodes_updated_is_not_part_of_the_key() -> None:
    match = best_match(index_rows([row(replace(RUN, master_nodes_updated="Y"))]), KEY,
                       replace(RUN, master_nodes_updated="N"))
    assert match.step == "exact"


# Each step, alone: the only row present is the one that step reaches, so it must be that step.
STEP_TARGETS = {
    "micro upgrade": Variant("4.15", "4.15", "gcp", "arm64", "ovn", "ha"),
    "previous release": Variant("4.14", "4.13", "gcp", "arm64", "ovn", "ha"),
    "previous release micro upgrade": Variant("4.14", "4.14", "gcp", "arm64", "ovn", "ha"),
    "amd64": Variant("4.15", "4.14", "gcp", "amd64", "ovn", "ha"),
    "ppc64le": Variant("4.15", "4.14", "gcp", "ppc64le", "ovn", "ha"),
    "s390x": Variant("4.15", "4.14", "gcp", "s390x", "ovn", "ha"),
    "amd64 micro upgrade": Variant("4.15", "4.15", "gcp", "amd64", "ovn", "ha"),
    "s390x micro upgrade": Variant("4.15", "4.15", "gcp", "s390x", "ovn", "ha"),
    "amd64 previous release": Variant("4.14", "4.13", "gcp", "amd64", "ovn", "ha"),
    "ppc64le previous release": Variant("4.14", "4.13", "gcp", "ppc64le", "ovn", "ha"),
    "amd64 previous release micro upgrade": Variant("4.14", "4.14", "gcp", "amd64", "ovn", "ha"),
    "s390x previous release micro upgrade": Variant("4.14", "4.14", "gcp", "s390x", "ovn", "ha"),
}


@pytest.mark.parametrize("name", sorted(STEP_TARGETS))
def test_each_step_reaches_its_row(name: str) -> None:
    target = STEP_TARGETS[name]
    match = best_match(index_rows([row(target)]), KEY, RUN)
    assert match.step == name and match.row is not None and match.row.variant == target
    assert "no exact match for kube-api-new-connections" in match.reason
    assert f"fell back to {name}" in match.reason


def test_the_runs_own_architecture_is_no_step() -> None:
    arm = next(step for step in LADDER if step.name == "arm64")
    assert arm.guess(RUN) is None and arm.guess(replace(RUN, architecture="amd64")) is not None


@pytest.mark.parametrize("name,target", [
    ("single-node on sdn", Variant("4.15", "", "aws", "amd64", "sdn", "single")),
    ("single-node on sdn previous release", Variant("4.14", "", "aws", "amd64", "sdn", "single")),
    ("single-node on sdn previous release micro upgrade",
     Variant("4.14", "4.14", "aws", "amd64", "sdn", "single")),
])
def test_single_node_steps(name: str, target: Variant) -> None:
    run = Variant("4.15", "4.14" if "micro" in name else "", "aws", "amd64", "ovn", "single")
    match = best_match(index_rows([row(target)]), KEY, run)
    assert match.step == name
    # the same row is not reached from a multi-node run
    assert best_match(index_rows([row(target)]), KEY, replace(run, topology="ha")).row is None


def test_steps_without_opinion() -> None:
    no_upgrade = replace(RUN, from_release="")
    assert micro_upgrade(no_upgrade) is None
    assert micro_upgrade(replace(RUN, from_release="4.15")) is None  # already micro
    assert previous_release(no_upgrade) == replace(no_upgrade, release="4.14")
    assert previous_release(replace(RUN, release="")) is None
    assert previous_release(replace(RUN, release="4.\u00b2")) is None  # isdigit, not int


def test_fallback_rows_need_more_than_100_runs_and_first_hit_wins() -> None:
    micro, prev = STEP_TARGETS["micro upgrade"], STEP_TARGETS["previous release"]
    assert best_match(index_rows([row(micro, runs=100)]), KEY, RUN).row is None
    match = best_match(index_rows([row(micro, runs=101), row(prev, runs=900)]), KEY, RUN)
    assert match.step == "micro upgrade"


def test_thin_exact_row_tries_previous_release_first() -> None:
    prev, micro = STEP_TARGETS["previous release"], STEP_TARGETS["micro upgrade"]
    rows = [row(RUN, runs=99), row(prev), row(micro)]
    assert best_match(index_rows(rows), KEY, RUN).step == "previous release"
    assert best_match(index_rows(rows[1:]), KEY, RUN).step == "micro upgrade"


def test_no_data_reason_names_the_thin_exact_row() -> None:
    match = best_match(index_rows([row(RUN, runs=12)]), KEY, RUN)
    assert match.row is None and match.step == "none"
    assert match.reason.startswith("no historical data for kube-api-new-connections")
    assert "only 12 runs" in match.reason


def test_alert_keys_match_by_namespace_and_level() -> None:
    alert = MeasurementKey(MeasurementKind.ALERTS, "KubePodNotReady", "openshift-etcd", "Warning")
    other = replace(alert, level="Critical")
    index = index_rows([row(RUN, key=alert)])
    assert best_match(index, alert, RUN).step == "exact"
    assert best_match(index, other, RUN).row is None


def test_on_origins_file() -> None:
    rows = origin_rows(DISRUPTIONS_00C213)
    index = index_rows(rows)
    hits = [best_match(index, r.key, r.variant) for r in rows]
    assert sum(m.step == "exact" for m in hits) == sum(r.job_runs >= 100 for r in rows)
    assert all(m.row is None or m.row.job_runs >= 100 for m in hits)
    assert any(m.step not in ("exact", "none") for m in hits)


def test_match_is_best_match_remembered_per_index() -> None:
    index = index_rows([row(STEP_TARGETS["amd64"]), row(RUN, runs=20)])
    first = match(index, KEY, RUN)
    assert first == best_match(index, KEY, RUN) and first.row is not None
    assert match(index, KEY, RUN) is first  # remembered: the ladder is not walked again
    other = MeasurementKey(MeasurementKind.DISRUPTIONS, "other")
    assert match(index, other, RUN).step == "none"
    assert match(index_rows([row(RUN)]), KEY, RUN).step == "exact"  # another index, its own
