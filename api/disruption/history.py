"""A key's history of seconds per run, summarised once for the payload policies.

Percentiles are continuous (linear interpolation between order statistics, as numpy's default
and BigQuery's ``PERCENTILE_CONT``), computed on the sorted values in plain Python: a payload
judges dozens of keys, and numpy's per-call overhead was most of a verdict's time.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from api.disruption.model import MeasurementKey
from api.store.disruption import MeasurementColumns


@dataclass(frozen=True, slots=True)
class KeyHistory:
    seconds: tuple[int, ...]
    """Sorted ascending; zeros included."""
    mean: float
    stddev: float
    """Sample standard deviation (0 for fewer than 2 runs)."""
    array: np.ndarray = field(compare=False, repr=False, default_factory=lambda: np.zeros(0))
    """``seconds`` as a sorted int64 array, for vectorised reads."""

    @classmethod
    def of(cls, seconds: Sequence[int]) -> KeyHistory:
        values = np.sort(np.asarray(seconds, dtype=np.int64))
        n = values.size
        mean = float(values.mean()) if n else 0.0
        stddev = float(values.std(ddof=1)) if n > 1 else 0.0
        return cls(tuple(values.tolist()), mean, stddev, values)

    @property
    def runs(self) -> int:
        return len(self.seconds)

    def percentile(self, q: float) -> float:
        values = self.seconds
        if not values:
            return 0.0
        pos = q / 100.0 * (len(values) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)

    def at_or_above(self, level: float) -> int:
        return len(self.seconds) - bisect.bisect_left(self.seconds, level)


History = Mapping[MeasurementKey, Sequence[int] | KeyHistory]
"""Seconds per past run of the job, per key (zeros included), raw or already summarised."""


def summarise(history: History) -> dict[MeasurementKey, KeyHistory]:
    """Each key's :class:`KeyHistory` (keys without past runs left out); summarised values
    pass through, so a caller judging with several policies sorts each key once."""
    out = {}
    for key, values in history.items():
        summary = values if isinstance(values, KeyHistory) else KeyHistory.of(values)
        if summary.runs:
            out[key] = summary
    return out


def summarise_columns(columns: MeasurementColumns, keys: Iterable[MeasurementKey] = ()
                      ) -> dict[MeasurementKey, KeyHistory]:
    """Each key's :class:`KeyHistory` over the runs of ``columns`` (a job's history as the store
    reads it), for its keys and ``keys`` (0 in every run they were not measured in); equal to
    :func:`summarise` of the per-run seconds. One dense keys x runs matrix, sorted, averaged
    and spread in three numpy calls instead of three per key."""
    # ``keys``' own objects where equal (a set keeps the first): the payload's runs name
    # the same objects, so the policies' lookups by them skip the field-by-field comparison
    wanted = sorted(set(keys).union(columns.keys))
    if not columns.runs or not wanted:
        return {}
    position = {key: i for i, key in enumerate(wanted)}
    row_of = np.array([position[key] for key in columns.keys], dtype=np.int64)
    matrix = np.zeros((len(wanted), columns.runs), dtype=np.int64)
    matrix[row_of[columns.m_key], columns.m_run] = columns.m_seconds
    matrix.sort(axis=1)
    means = matrix.mean(axis=1)
    stddevs = matrix.std(axis=1, ddof=1) if columns.runs > 1 else np.zeros(len(wanted))
    values = matrix.tolist()
    return {key: KeyHistory(tuple(values[i]), float(means[i]), float(stddevs[i]), matrix[i])
            for i, key in enumerate(wanted)}
