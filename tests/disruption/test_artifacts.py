"""The measurement artifact parser (api/disruption/artifacts.py) on real-shaped files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from api.disruption.artifacts import (
    ArtifactKind,
    ArtifactParseError,
    artifact_kind,
    ceil_seconds,
    merge_variant,
    normalise_level,
    parse_artifact,
    parse_duration,
    run_seconds,
    variant_from_job_name,
)
from api.disruption.model import MeasurementKey, MeasurementKind, Variant

DATA = Path(__file__).parent.parent / "data" / "disruption"
D, A = MeasurementKind.DISRUPTIONS, MeasurementKind.ALERTS


def parse(name: str) -> object:
    data = (DATA / name).read_bytes()
    return parse_artifact(f"artifacts/e2e/openshift-e2e-test/{name}", data,
                          hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize(("text", "ns"), [
    ("0s", 0), ("0", 0), ("500ms", 500_000_000), ("2.1s", 2_100_000_000),
    ("1m2.5s", 62_500_000_000), ("1h2m3.5s", 3_723_500_000_000), ("1.5µs", 1_500),
    ("3us", 3_000), ("7ns", 7), ("1h0m0s", 3_600_000_000_000), (".5s", 500_000_000),
])
def test_go_durations_parse_exactly(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["", "-1s", "1x", "s", "1s2", "1.2.3s", "1 s", "abc"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_rounding_is_up_to_whole_seconds() -> None:
    assert [ceil_seconds(n) for n in (0, 1, 999_999_999, 1_000_000_000, 1_000_000_001)] == \
        [0, 1, 1, 1, 2]


def test_newer_backend_disruption_file() -> None:
    parsed = parse("backend-disruption_e2e-test_20261120-101010.json")
    assert parsed.kind is ArtifactKind.DISRUPTIONS  # type: ignore[attr-defined]
    assert parsed.seconds == {  # type: ignore[attr-defined]
        MeasurementKey(D, "kube-api-new-connections"): 3,  # 2.1 s rounds up
        MeasurementKey(D, "kube-api-reused-connections"): 0,
        MeasurementKey(D, "ingress-to-console-new-connections"): 63,
    }


def test_older_backend_disruption_file_and_summing_across_files() -> None:
    older = parse("backend-disruption_upgrade_20261120-093000.json")
    newer = parse("backend-disruption_e2e-test_20261120-101010.json")
    assert older.seconds == {MeasurementKey(D, "kube-api-new-connections"): 1,  # type: ignore[attr-defined]
                             MeasurementKey(D, "oauth-api-new-connections"): 3724}
    total = run_seconds([older, newer])  # type: ignore[list-item]
    assert total[MeasurementKey(D, "kube-api-new-connections")] == 4  # 1 + 3, not ceil(2.6)
    assert len(total) == 4


def test_alerts_file_normalises_level_and_sums_per_key_within_a_file() -> None:
    parsed = parse("alerts_e2e-test_20261120-101010.json")
    assert parsed.seconds == {  # type: ignore[attr-defined]
        MeasurementKey(A, "KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Critical"): 150,
        MeasurementKey(A, "etcdMembersDown", "openshift-etcd", "Warning"): 56,  # ceil(55.2)
        MeasurementKey(A, "Watchdog", "openshift-monitoring", "None"): 0,
    }
    assert normalise_level("CRITICAL") == "Critical" and normalise_level("") == ""


def test_cluster_data_new_and_old_layouts() -> None:
    new = parse("cluster-data_e2e-test_20261120-101010.json")
    old = parse("cluster-data_upgrade_20261120-093000.json")
    expected = Variant("4.15", "4.14", "aws", "amd64", "ovn", "ha", "Y")
    assert new.variant == expected  # type: ignore[attr-defined]
    assert old.variant == Variant("4.15", "4.14", "aws", "amd64", "ovn", "ha", "N")  # type: ignore[attr-defined]
    assert merge_variant(old.variant, new.variant) == expected  # type: ignore[attr-defined]
    assert merge_variant(new.variant, old.variant) == expected  # type: ignore[attr-defined]
    assert merge_variant(None, old.variant) == old.variant  # type: ignore[attr-defined]


def test_kind_comes_from_the_base_name() -> None:
    assert artifact_kind("a/b/backend-disruption_x.json.gz") is ArtifactKind.DISRUPTIONS
    assert artifact_kind("alerts.json") is ArtifactKind.ALERTS
    assert artifact_kind("x/cluster-data_e2e.json") is ArtifactKind.CLUSTER_DATA
    assert artifact_kind("junit_e2e.xml") is None
    assert artifact_kind("backend-disruption.txt") is None
    assert artifact_kind("my-alerts.json") is None


@pytest.mark.parametrize(("name", "body", "reason"), [
    ("backend-disruption.json", b"<xml/>", "not JSON"),
    ("backend-disruption.json", b"[]", "JSON object"),
    ("backend-disruption.json", b'{"Alerts": []}', "BackendDisruptions"),
    ("backend-disruption.json", b'{"BackendDisruptions": {"a": {"DisruptedDuration": 3}}}',
     "string"),
    ("backend-disruption.json", b'{"BackendDisruptions": {"a": {"DisruptedDuration": "3q"}}}',
     "Go duration"),
    ("alerts.json", b'{"Alerts": [{"Namespace": "x", "Duration": "1s"}]}', "Name"),
    ("alerts.json", b'{"Alerts": {}}', "list"),
    ("alerts.json", b'{"Alerts": [{"Name": "a\\u0000b", "Duration": "1s"}]}', "printable"),
    ("cluster-data.json", b'{"MasterNodesUpdated": "maybe"}', "MasterNodesUpdated"),
    ("cluster-data.json", b"\xff\xfe", "not JSON"),
])
def test_malformed_files_name_the_file(name: str, body: bytes, reason: str) -> None:
    with pytest.raises(ArtifactParseError) as caught:
        parse_artifact(f"dir/{name}", body, "0" * 64)
    assert caught.value.filename == f"dir/{name}"
    assert reason in str(caught.value)


@pytest.mark.parametrize(("job", "variant"), [
    ("periodic-ci-openshift-release-master-ci-4.15-upgrade-from-stable-4.14-e2e-aws-ovn-upgrade",
     Variant("4.15", "4.14", "aws", "amd64", "ovn", "ha")),
    ("periodic-ci-openshift-release-master-nightly-4.16-e2e-gcp-sdn-arm64",
     Variant("4.16", "", "gcp", "arm64", "sdn", "ha")),
    ("periodic-ci-openshift-release-master-nightly-4.16-e2e-metal-ipi-ovn-ppc64le",
     Variant("4.16", "", "metal", "ppc64le", "ovn", "ha")),
    ("periodic-ci-openshift-release-master-nightly-4.15-e2e-aws-ovn-single-node",
     Variant("4.15", "", "aws", "amd64", "ovn", "single")),
    ("periodic-ci-openshift-release-master-ci-4.15-e2e-azure-ovn-upgrade",
     Variant("4.15", "", "azure", "amd64", "ovn", "ha")),  # source release unknown
    ("unit", Variant("", "", "", "amd64", "", "")),
])
def test_variant_from_the_job_name(job: str, variant: Variant) -> None:
    assert variant_from_job_name(job) == variant


def test_job_labels_override_the_name() -> None:
    derived = variant_from_job_name("e2e-aws-ovn-4.15", {"platform": "vsphere", "other": "x"})
    assert derived.platform == "vsphere" and derived.release == "4.15"
