"""``GET /disruption/allowed`` on a stored version of origin's own baseline file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant
from api.store import open_store
from tests.conftest import ApiClient
from tests.disruption.origin_rows import DISRUPTIONS_00C213, origin_rows

QUERY = ("/disruption/allowed?kind=disruptions&name=kube-api-new-connections&release=4.16"
         "&from_release={frm}&platform=aws&architecture={arch}&network=ovn&topology=ha")


@pytest.fixture
def stored(database_url: str) -> list[BaselineRow]:
    rows = origin_rows(DISRUPTIONS_00C213)
    alert = BaselineRow(MeasurementKey(MeasurementKind.ALERTS, "etcdMembersDown",
                                       "openshift-etcd", "Critical"),
                        Variant("4.16", "", "aws", "amd64", "ovn", "ha"), 300, 2.0, 9.0)
    store = open_store(database_url)
    store.migrate()
    created = datetime.now(UTC)
    store.disruption.put_baseline_version(MeasurementKind.DISRUPTIONS, rows, window_days=30,
                                          created=created)
    store.disruption.put_baseline_version(MeasurementKind.ALERTS, [alert], window_days=30,
                                          created=created)
    store.close()
    return rows


def row_of(rows: list[BaselineRow], variant: tuple[str, ...]) -> BaselineRow:
    return next(r for r in rows if r.key.name == "kube-api-new-connections"
                and r.variant.match_key() == variant)


def test_exact_match_and_the_graced_allowance(api: ApiClient, stored: list[BaselineRow]) -> None:
    body = api.get(QUERY.format(frm="4.15", arch="amd64")).json
    expected = row_of(stored, ("4.16", "4.15", "aws", "amd64", "ovn", "ha"))
    assert expected.job_runs >= 100 and body["step"] == "exact"
    assert body["row"]["job_runs"] == expected.job_runs and body["row"]["p99"] == expected.p99
    base = max(expected.p99, 1.0)
    assert body["allowed_seconds"] == pytest.approx(max(base + 5, base * 1.2))
    assert body["reason"].startswith("exact match for kube-api-new-connections")


def test_a_fallback_is_named(api: ApiClient, stored: list[BaselineRow]) -> None:
    body = api.get(QUERY.format(frm="4.15", arch="arm64")).json
    assert body["step"] not in ("exact", "none") and body["row"] is not None
    assert body["row"]["job_runs"] > 100
    assert f"fell back to {body['step']}" in body["reason"]


def test_no_data_answers_null_with_the_reason(api: ApiClient, stored: list[BaselineRow]) -> None:
    body = api.get(QUERY.format(frm="4.15", arch="amd64").replace("aws", "nowhere")).json
    assert body["row"] is None and body["allowed_seconds"] is None and body["step"] == "none"
    assert body["reason"].startswith("no historical data for")


def test_alerts_by_namespace_and_level_any_casing(api: ApiClient,
                                                  stored: list[BaselineRow]) -> None:
    body = api.get("/disruption/allowed?kind=alerts&name=etcdMembersDown&namespace=openshift-etcd"
                   "&level=critical&release=4.16&platform=aws&architecture=amd64&network=ovn"
                   "&topology=ha").json
    assert body["step"] == "exact" and body["allowed_seconds"] == 9.0
    assert body["key"]["level"] == "Critical"


def test_bad_queries_are_422_with_no_store_at_all(api: ApiClient) -> None:
    assert api.get("/disruption/allowed?kind=disruptions").status_code == 422
    assert api.get("/disruption/allowed?kind=nope&name=x").status_code == 422
    # no baseline version stored: no data, not an error
    assert api.get("/disruption/allowed?kind=alerts&name=x").json["step"] == "none"
