"""The store contract of the disruption part (api/store/disruption.py); every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.disruption.artifacts import ArtifactKind, ParsedArtifact
from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant
from api.domain import JunitFile, RunSpec, RunStatus, TestResult, TestStatus
from api.store import AttachedFile, InvalidCursor, NotFound, Store
from api.store.disruption import BaselineFilter, MeasurementColumns

D, A = MeasurementKind.DISRUPTIONS, MeasurementKind.ALERTS
T0 = datetime(2026, 11, 1, tzinfo=UTC)
V415 = Variant("4.15", "4.14", "aws", "amd64", "ovn", "ha", "Y")


def key(name: str) -> MeasurementKey:
    return MeasurementKey(D, name)


def alert(name: str, level: str = "Warning") -> MeasurementKey:
    return MeasurementKey(A, name, "openshift-etcd", level)


def disruption_file(sha: str, **seconds: int) -> ParsedArtifact:
    return ParsedArtifact(f"backend-disruption_{sha}.json", sha * 8, ArtifactKind.DISRUPTIONS,
                          seconds={key(k.replace("_", "-")): v for k, v in seconds.items()})


def alerts_file(sha: str, seconds: dict[MeasurementKey, int]) -> ParsedArtifact:
    return ParsedArtifact(f"alerts_{sha}.json", sha * 8, ArtifactKind.ALERTS, seconds=seconds)


def cluster_file(sha: str, variant: Variant) -> ParsedArtifact:
    return ParsedArtifact(f"cluster-data_{sha}.json", sha * 8, ArtifactKind.CLUSTER_DATA,
                          variant=variant)


def junit_file(sha: str, status: TestStatus = TestStatus.PASSED) -> AttachedFile:
    return AttachedFile(JunitFile(f"junit_{sha}.xml", sha * 8, 1),
                        [TestResult("t", "s", status)])


def run(store: Store, run_id: str, *, job: str = "j", started: datetime = T0,
        status: RunStatus = RunStatus.SUCCESS, payload: str | None = None) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=status, payload=payload,
                          started_at=started))


def test_junit_and_measurements_attach_in_one_write_idempotently(store: Store) -> None:
    run(store, "1")
    files = [disruption_file("a", kube_api=3, oauth=0), disruption_file("b", kube_api=2),
             cluster_file("c", V415)]
    done = store.disruption.put_artifacts("j", "1", [junit_file("j")], files)
    assert done.junit_added == (True,) and done.measurements_added == (True, True, True)
    assert done.run.counts.total == 1
    got = store.disruption.run_measurements("j", ["1", "nope"])
    assert set(got) == {"1"}
    assert got["1"].seconds == {key("kube-api"): 5, key("oauth"): 0}
    assert got["1"].variant == V415
    updated_at = store.get_run("j", "1").updated_at  # type: ignore[union-attr]
    again = store.disruption.put_artifacts("j", "1", [junit_file("j")], files)
    assert again.junit_added == (False,) and again.measurements_added == (False,) * 3
    assert store.get_run("j", "1").updated_at == updated_at  # type: ignore[union-attr]
    assert store.disruption.run_measurements("j", ["1"])["1"].seconds[key("kube-api")] == 5


def test_later_files_add_to_the_run_and_masters_updated_any_y_wins(store: Store) -> None:
    run(store, "1")
    store.disruption.put_artifacts("j", "1", [], [disruption_file("a", kube_api=3),
                                                   cluster_file("c", Variant("4.15", "4.14",
                                                                             "aws", "amd64",
                                                                             "ovn", "ha", "N"))])
    store.disruption.put_artifacts("j", "1", [], [disruption_file("b", kube_api=4),
                                                   cluster_file("d", Variant(
                                                       master_nodes_updated="Y"))])
    got = store.disruption.run_measurements("j", ["1"])["1"]
    assert got.seconds == {key("kube-api"): 7}
    assert got.variant == V415


def test_derived_variant_only_without_cluster_data(store: Store) -> None:
    run(store, "1")
    run(store, "2")
    derived = Variant("4.16", "", "gcp", "amd64", "sdn", "ha")
    store.disruption.put_artifacts("j", "1", [], [disruption_file("a", x=1)], derived)
    store.disruption.put_artifacts("j", "2", [], [disruption_file("b", x=1),
                                                   cluster_file("c", V415)], derived)
    got = store.disruption.run_measurements("j", ["1", "2"])
    assert got["1"].variant == derived and got["2"].variant == V415
    # cluster-data arriving later replaces the derived variant
    store.disruption.put_artifacts("j", "1", [], [cluster_file("d", V415)], derived)
    assert store.disruption.run_measurements("j", ["1"])["1"].variant == V415


def test_unknown_run_is_not_found_and_nothing_is_stored(store: Store) -> None:
    with pytest.raises(NotFound):
        store.disruption.put_artifacts("j", "1", [junit_file("j")], [disruption_file("a", x=1)])
    assert store.disruption.run_measurements("j", ["1"]) == {}


def test_a_bad_junit_file_stores_no_measurement(store: Store) -> None:
    run(store, "1")
    bad = AttachedFile(JunitFile("bad.xml", "f" * 64, 1), [TestResult("t", "s", 99)])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.disruption.put_artifacts("j", "1", [bad], [disruption_file("a", x=1)])
    assert store.disruption.run_measurements("j", ["1"]) == {}


def test_deleting_a_run_deletes_its_measurements(store: Store) -> None:
    from api.store import AuditEntry

    run(store, "1")
    store.disruption.put_artifacts("j", "1", [], [disruption_file("a", x=1)])
    store.delete_run("j", "1", AuditEntry("j", "delete", "me", "why", (), None, T0))
    run(store, "1")
    assert store.disruption.run_measurements("j", ["1"]) == {}


def seed_window(store: Store) -> None:
    """Runs of two jobs across days; 'old' outside the window, 'err' not evidence."""
    for i, (job, day, status) in enumerate([("j", 1, RunStatus.SUCCESS),
                                            ("j", 2, RunStatus.FAILURE),
                                            ("k", 3, RunStatus.SUCCESS),
                                            ("j", 4, RunStatus.ERROR)]):
        run(store, f"r{i}", job=job, started=T0 + timedelta(days=day), status=status)
    run(store, "old", started=T0 - timedelta(days=40))
    store.disruption.put_artifacts("j", "r0", [], [disruption_file("a", x=2, y=1),
                                                    cluster_file("c", V415)])
    store.disruption.put_artifacts("j", "r1", [], [disruption_file("b"),
                                                    alerts_file("al", {alert("E"): 9})])
    store.disruption.put_artifacts("k", "r2", [], [disruption_file("d", x=7)],
                                   Variant("4.15", "", "gcp"))
    store.disruption.put_artifacts("j", "r3", [], [disruption_file("e", x=100)])
    store.disruption.put_artifacts("j", "old", [], [disruption_file("f", x=100)])
    run(store, "none", started=T0 + timedelta(days=1))  # no measurement file at all


def test_measurement_columns_cover_the_window_with_every_run_of_the_kind(store: Store) -> None:
    seed_window(store)
    cols = store.disruption.measurement_columns(D, T0, T0 + timedelta(days=10))
    assert cols.runs == 3  # r0, r1 (no key named), r2
    found = {(cols.variants[cols.run_variant[r]], cols.keys[k], int(s))
             for r, k, s in zip(cols.m_run, cols.m_key, cols.m_seconds, strict=True)}
    assert found == {(V415, key("x"), 2), (V415, key("y"), 1),
                     (Variant("4.15", "", "gcp"), key("x"), 7)}
    assert sorted(cols.variants[i] for i in cols.run_variant.tolist()) == sorted(
        [V415, Variant(), Variant("4.15", "", "gcp")])
    alerts = store.disruption.measurement_columns(A, T0)
    assert alerts.runs == 1 and alerts.keys[int(alerts.m_key[0])] == alert("E")
    assert store.disruption.measurement_columns(D, T0, T0 + timedelta(days=2)).runs == 1


def history_of(cols: MeasurementColumns) -> list[tuple[str, Variant, dict[MeasurementKey, int]]]:
    out = [(run_id, cols.variants[int(v)], {}) for (_, run_id), v
           in zip(cols.run_ids, cols.run_variant, strict=True)]
    for r, k, s in zip(cols.m_run, cols.m_key, cols.m_seconds, strict=True):
        out[int(r)][2][cols.keys[int(k)]] = int(s)
    return out


def test_job_history_columns_are_the_jobs_runs_of_the_kind_oldest_first(store: Store) -> None:
    seed_window(store)
    run(store, "early", started=T0 + timedelta(hours=12))  # stored last, ran first
    store.disruption.put_artifacts("j", "early", [], [disruption_file("g", z=3, x=4)])
    cols = store.disruption.job_history_columns("j", D, T0, T0 + timedelta(days=10))
    assert cols.keys == (key("x"), key("y"), key("z"))  # sorted, this kind's only
    assert history_of(cols) == [("early", Variant(), {key("x"): 4, key("z"): 3}),
                                ("r0", V415, {key("x"): 2, key("y"): 1}),
                                ("r1", Variant(), {})]
    assert {job for job, _ in cols.run_ids} == {"j"}
    alerts = store.disruption.job_history_columns("j", A, T0)
    assert history_of(alerts) == [("r1", Variant(), {alert("E"): 9})]
    assert store.disruption.job_history_columns("j", D, T0 + timedelta(days=1, hours=1),
                                                T0 + timedelta(days=10)).run_ids == (("j", "r1"),)
    empty = store.disruption.job_history_columns("nope", D, T0)
    assert (empty.runs, empty.keys, empty.m_seconds.size) == (0, (), 0)


def row(name: str, variant: Variant, p99: float, kind: MeasurementKind = D,
        namespace: str = "", level: str = "") -> BaselineRow:
    return BaselineRow(MeasurementKey(kind, name, namespace, level), variant, job_runs=120,
                       p95=p99 / 2, p99=p99, p50=0.0, p75=1.5, mean=2.25, stddev=0.5)


def test_baseline_versions_are_numbered_per_kind_and_listed_in_order(store: Store) -> None:
    assert store.disruption.baseline_version(D) is None
    assert store.disruption.all_baseline_rows(D) == []
    v_gcp = Variant("4.15", "", "gcp", "amd64", "ovn", "ha", "N")
    rows = [row("b", V415, 9.5), row("a", v_gcp, 3.0), row("a", V415, 2.0)]
    assert store.disruption.put_baseline_version(D, rows, window_days=30, created=T0,
                                                 actor="admin", note="n") == 1
    assert store.disruption.put_baseline_version(D, rows[:1], window_days=21, created=T0) == 2
    assert store.disruption.put_baseline_version(
        A, [row("E", V415, 1.0, A, "ns", "Critical")], window_days=30, created=T0) == 1
    newest = store.disruption.baseline_version(D)
    assert newest is not None and (newest.version, newest.rows, newest.window_days) == (2, 1, 21)
    first = store.disruption.baseline_version(D, 1)
    assert first is not None and (first.actor, first.note, first.created_at) == ("admin", "n", T0)
    assert [v.version for v in store.disruption.list_baseline_versions(D)] == [2, 1]
    assert store.disruption.all_baseline_rows(D, 1) == [rows[1], rows[2], rows[0]]
    assert store.disruption.all_baseline_rows(D) == rows[:1]
    assert store.disruption.baseline_candidates("a", "", "", D, 1) == [rows[1], rows[2]]
    assert store.disruption.baseline_candidates("a", "", "", D) == []
    assert store.disruption.baseline_candidates("E", "ns", "Critical", A)[0].p99 == 1.0


def test_baseline_rows_page_and_filter(store: Store) -> None:
    variants = [Variant("4.15", "", p, "amd64", "ovn", "ha", "N") for p in ("aws", "gcp", "metal")]
    rows = [row(n, v, 1.0) for n in ("a", "b") for v in variants]
    store.disruption.put_baseline_version(D, rows, window_days=30, created=T0)
    seen, cursor = [], None
    while True:
        page = store.disruption.baseline_rows(D, None, limit=4, cursor=cursor)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == rows
    gcp = store.disruption.baseline_rows(D, 1, where=BaselineFilter(variant={"platform": "gcp"}),
                                         limit=10)
    assert [r.key.name for r in gcp.items] == ["a", "b"] and gcp.next_cursor is None
    named = store.disruption.baseline_rows(D, 1, where=BaselineFilter(name="b"), limit=2)
    assert [r.variant.platform for r in named.items] == ["aws", "gcp"]
    with pytest.raises(NotFound):
        store.disruption.baseline_rows(D, 7, limit=1)
    with pytest.raises(InvalidCursor):
        store.disruption.baseline_rows(D, 1, limit=1, cursor="garbage")
