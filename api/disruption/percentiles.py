"""Baselines of measurements (SPEC §9): continuous percentiles per key and variant. Pure.

Percentiles are BigQuery's ``PERCENTILE_CONT``: over the ``n`` sorted values, the ``q``-th is at
position ``q * (n - 1)``, linearly interpolated between its neighbours (numpy's
``method="linear"``). ``stddev`` is the sample standard deviation (BigQuery's ``STDDEV``;
``None`` for one run), ``job_runs`` the number of runs in the group.

Which runs count (origin's filters): those whose masters were updated (``"Y"``) or that are not
upgrades (``from_release`` ""). Zeros: a key *known* in a release (named by any run of that
release in the window, filtered or not) counts 0 for every run of the release that did not name
it, or the percentiles would only describe the runs that had some disruption.

The computation works on columns (:class:`~api.store.disruption.MeasurementColumns`): one dense
runs x known-keys matrix per release, then ``numpy.percentile`` along the runs of each variant
at once for all of the release's keys; no Python object per measurement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from api.disruption.model import BaselineRow, Variant
from api.store.disruption import MeasurementColumns

QUANTILES = (0.50, 0.75, 0.95, 0.99)


def percentile_cont(values: Sequence[float], q: float) -> float:
    """One continuous percentile of ``values`` (any order), as BigQuery computes it: the
    reference the matrix computation is tested against, and the payload rule's P70/P85 of a
    job's own history."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def counted(variant: Variant) -> bool:
    """Origin's filter: masters updated, or not an upgrade."""
    return variant.master_nodes_updated == "Y" or variant.from_release == ""


def compute_rows(columns: MeasurementColumns) -> list[BaselineRow]:
    """One row per (known key, variant) over the counted runs, ordered by key then variant."""
    if columns.runs == 0:
        return []
    variants = columns.variants
    releases = sorted({v.release for v in variants})
    release_of_variant = np.array([releases.index(v.release) for v in variants],
                                  dtype=np.int32)
    run_release = release_of_variant[columns.run_variant]
    keep_variant = np.array([counted(v) for v in variants], dtype=bool)
    rows: list[BaselineRow] = []
    for r in range(len(releases)):
        runs = np.flatnonzero(run_release == r)
        in_release = np.isin(columns.m_run, runs)
        known = np.unique(columns.m_key[in_release])
        counted_runs = runs[keep_variant[columns.run_variant[runs]]]
        if known.size == 0 or counted_runs.size == 0:
            continue
        # Dense matrix of counted runs x known keys, zero where a run did not name a key.
        row_of_run = np.full(columns.runs, -1, dtype=np.int64)
        row_of_run[counted_runs] = np.arange(counted_runs.size)
        col_of_key = np.full(len(columns.keys), -1, dtype=np.int64)
        col_of_key[known] = np.arange(known.size)
        matrix = np.zeros((counted_runs.size, known.size), dtype=np.float64)
        take = in_release & (row_of_run[columns.m_run] >= 0)
        matrix[row_of_run[columns.m_run[take]], col_of_key[columns.m_key[take]]] = \
            columns.m_seconds[take]
        run_variants = columns.run_variant[counted_runs]
        for v in np.unique(run_variants):
            group = matrix[run_variants == v]
            rows += _group_rows(columns, known, variants[int(v)], group)
    rows.sort(key=lambda row: (row.key, row.variant))
    return rows


def _group_rows(columns: MeasurementColumns, known: np.ndarray, variant: Variant,
                group: np.ndarray) -> list[BaselineRow]:
    n = group.shape[0]
    p50, p75, p95, p99 = np.quantile(group, QUANTILES, axis=0, method="linear")
    mean = group.mean(axis=0)
    stddev = group.std(axis=0, ddof=1) if n > 1 else None
    return [BaselineRow(key=columns.keys[int(k)], variant=variant, job_runs=n,
                        p50=float(p50[i]), p75=float(p75[i]), p95=float(p95[i]),
                        p99=float(p99[i]), mean=float(mean[i]),
                        stddev=None if stddev is None else float(stddev[i]))
            for i, k in enumerate(known)]
