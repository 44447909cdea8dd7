"""Baseline percentiles (api/disruption/percentiles.py): BigQuery's PERCENTILE_CONT, zeros of
known keys, origin's filters."""

from __future__ import annotations

import numpy as np
import pytest

from api.disruption.model import MeasurementKey, MeasurementKind, Variant
from api.disruption.percentiles import compute_rows, counted, percentile_cont
from api.store.disruption import MeasurementColumns

D = MeasurementKind.DISRUPTIONS
UPGRADE_Y = Variant("4.15", "4.14", "aws", "amd64", "ovn", "ha", "Y")
UPGRADE_N = Variant("4.15", "4.14", "aws", "amd64", "ovn", "ha", "N")
PLAIN = Variant("4.15", "", "gcp", "amd64", "ovn", "ha", "")
OTHER_RELEASE = Variant("4.16", "", "gcp", "amd64", "ovn", "ha", "")


def test_hand_example() -> None:
    # 5 values: P50 at position 2 (exactly 3); P95 at 3.8: 4 + 0.8 * (100 - 4) = 80.8
    values = [100, 1, 4, 3, 2]
    assert percentile_cont(values, 0.5) == 3
    assert percentile_cont(values, 0.95) == pytest.approx(80.8)
    assert percentile_cont([7], 0.99) == 7
    with pytest.raises(ValueError):
        percentile_cont([], 0.5)


@pytest.mark.parametrize("seed", range(5))
def test_equals_numpy_linear(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 50, size=int(rng.integers(1, 400))).tolist()
    for q in (0.5, 0.7, 0.75, 0.85, 0.95, 0.99):
        assert percentile_cont(values, q) == pytest.approx(
            float(np.percentile(values, q * 100, method="linear")))


def test_origin_filter() -> None:
    assert counted(UPGRADE_Y) and counted(PLAIN) and not counted(UPGRADE_N)


def columns(runs: list[tuple[Variant, dict[str, int]]]) -> MeasurementColumns:
    variants = list(dict.fromkeys(v for v, _ in runs))
    names = sorted({n for _, seconds in runs for n in seconds})
    m = [(i, names.index(n), s) for i, (_, seconds) in enumerate(runs) for n, s in seconds.items()]
    return MeasurementColumns(
        keys=tuple(MeasurementKey(D, n) for n in names), variants=tuple(variants),
        run_variant=np.array([variants.index(v) for v, _ in runs], dtype=np.int32),
        m_run=np.array([x[0] for x in m], dtype=np.int32),
        m_key=np.array([x[1] for x in m], dtype=np.int32),
        m_seconds=np.array([x[2] for x in m], dtype=np.int64))


def test_rows_count_zeros_of_known_keys_and_filter_runs() -> None:
    runs = [(UPGRADE_Y, {"a": 10}), (UPGRADE_Y, {}), (UPGRADE_Y, {"a": 2, "b": 1}),
            (UPGRADE_N, {"a": 1000, "c": 5}),  # filtered out, but makes "c" known in 4.15
            (PLAIN, {"a": 4}), (OTHER_RELEASE, {"z": 1})]
    rows = {(r.key.name, r.variant): r for r in compute_rows(columns(runs))}
    assert set(rows) == {(k, v) for k in "abc" for v in (UPGRADE_Y, PLAIN)} | {
        ("z", OTHER_RELEASE)}
    a = rows[("a", UPGRADE_Y)]
    assert a.job_runs == 3
    assert (a.p50, a.p75, a.p95, a.p99) == pytest.approx(
        tuple(percentile_cont([10, 0, 2], q) for q in (0.5, 0.75, 0.95, 0.99)))
    assert a.mean == pytest.approx(4.0) and a.stddev == pytest.approx(float(np.std([10, 0, 2],
                                                                                 ddof=1)))
    c = rows[("c", UPGRADE_Y)]
    assert (c.p99, c.job_runs) == (0.0, 3)
    single = rows[("a", PLAIN)]
    assert (single.job_runs, single.p99, single.stddev) == (1, 4.0, None)
    assert [r.key.name for r in compute_rows(columns(runs))][:2] == ["a", "a"]


def test_matches_a_per_group_reference_on_random_data() -> None:
    rng = np.random.default_rng(7)
    variants = [UPGRADE_Y, PLAIN, OTHER_RELEASE]
    runs = [(variants[int(rng.integers(0, 3))],
             {f"k{k}": int(rng.integers(0, 30)) for k in range(6) if rng.random() < 0.4})
            for _ in range(300)]
    rows = compute_rows(columns(runs))
    for row in rows:
        known = {n for v, s in runs if v.release == row.variant.release for n in s}
        assert row.key.name in known
        values = [s.get(row.key.name, 0) for v, s in runs if v == row.variant]
        assert row.job_runs == len(values)
        assert row.p95 == pytest.approx(percentile_cont(values, 0.95))
        assert row.p99 == pytest.approx(percentile_cont(values, 0.99))


def test_no_runs_no_rows() -> None:
    assert compute_rows(columns([])) == []
