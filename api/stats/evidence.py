"""A payload's per-test evidence joined with a baseline, as parallel numpy arrays.

Every policy judges :class:`EvidenceArrays`, so the per-test arithmetic is vectorised. They are
built from tallies and baseline records (:func:`prepare_evidence`) or directly from a store's
columnar read (:func:`evidence_from_columns`, the verdict's hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from api.stats.types import Informing, TestBaseline, TestKey, TestTally


def informing_predicate(informing: Informing | None) -> Callable[[str, str], bool]:
    """Normalise the ``informing`` argument of the policies into a ``(suite, name)`` predicate."""
    if informing is None:
        return lambda suite, name: False
    if callable(informing):
        return informing
    keys = frozenset(informing)
    if not keys:
        return lambda suite, name: False
    return lambda suite, name: (suite, name) in keys


@dataclass(frozen=True, slots=True)
class EvidenceArrays:
    """A payload's per-test evidence joined with the baseline, as parallel numpy arrays.

    Built once per job verdict by :func:`prepare_evidence`; every policy works on it so that the
    per-test arithmetic is vectorised. Index ``i`` is the ``i``-th distinct test of the evidence.
    """

    suites: tuple[str, ...]
    names: tuple[str, ...]
    passes: np.ndarray  # int: clean passes + flakes (what counts as a pass)
    failures: np.ndarray  # int
    flakes: np.ndarray  # int
    skips: np.ndarray  # int
    runs: np.ndarray  # int: passes + failures, the test's k
    has_history: np.ndarray  # bool: a baseline with runs > 0
    hist_runs: np.ndarray  # int (0 without history)
    hist_passes: np.ndarray  # float: effective (latched) passes incl. flakes
    hist_failures: np.ndarray  # float: effective (latched) failures
    hist_rate: np.ndarray  # float: baseline pass rate, nan without history
    informing: np.ndarray  # bool
    absent: int  # baseline tests absent from the evidence

    def __len__(self) -> int:
        return len(self.names)


def evidence_from_columns(
    suites: tuple[str, ...],
    names: tuple[str, ...],
    counts: np.ndarray,
    history: np.ndarray,
    absent: int,
    informing: Informing | None = None,
    flagged: np.ndarray | None = None,
) -> EvidenceArrays:
    """Build :class:`EvidenceArrays` from a store's columnar read, without per-test objects.

    ``counts`` is ``(n, 4)``: passes (clean), failures, flakes, skips in the payload's counted
    runs. ``history`` is ``(n, 6)``: the baseline's runs, passes, failures, flakes, pass rate and
    latched flag (runs 0: no record). ``flagged`` (bool per row) marks further tests informing:
    those the results themselves marked (JUnit ``lifecycle="informing"``). Same semantics as
    :func:`prepare_evidence`.
    """
    clean, failures, flakes, skips = (counts[:, column].astype(np.int64) for column in range(4))
    runs, h_passes, h_failures, h_flakes, rate, latched = (history[:, c] for c in range(6))
    has_history = runs > 0
    latched = latched.astype(bool) & has_history
    passes = clean + flakes
    is_informing = informing_predicate(informing)
    marked = (np.array([is_informing(s, n) for s, n in zip(suites, names, strict=True)],
                       dtype=bool) if informing else np.zeros(len(names), dtype=bool))
    if flagged is not None:  # results the upload itself marked informing
        marked = marked | flagged.astype(bool)
    return EvidenceArrays(
        suites=suites,
        names=names,
        passes=passes,
        failures=failures,
        flakes=flakes,
        skips=skips,
        runs=passes + failures,
        has_history=has_history,
        hist_runs=runs.astype(np.int64),
        hist_passes=np.where(latched, runs * rate, h_passes + h_flakes),
        hist_failures=np.where(latched, runs * (1.0 - rate), h_failures),
        hist_rate=np.where(has_history, rate, np.nan),
        informing=marked,
        absent=absent,
    )


def prepare_evidence(
    evidence: Iterable[TestTally],
    baselines: Mapping[TestKey, TestBaseline] | Iterable[TestBaseline] | None,
    informing: Informing | None = None,
) -> EvidenceArrays:
    """Join the payload's tallies with the baseline. Duplicate keys in ``evidence`` are summed."""
    base = baseline_index(baselines)
    tallies = evidence if isinstance(evidence, list | tuple) else list(evidence)
    keys = [(t.suite, t.name) for t in tallies]
    rows: list[tuple[int, ...]] = [(t.passes, t.failures, t.flakes, t.skips) for t in tallies]
    if len(set(keys)) != len(keys):  # duplicates: sum them, keeping first-seen order
        merged: dict[TestKey, list[int]] = {}
        for key, row in zip(keys, rows, strict=True):
            total = merged.setdefault(key, [0, 0, 0, 0])
            for j in range(4):
                total[j] += row[j]
        keys, rows = list(merged), [tuple(v) for v in merged.values()]
    count_matrix = np.array(rows, dtype=np.int64).reshape(len(keys), 4)
    clean, failures, flakes, skips = count_matrix.T
    passes = clean + flakes
    found = [base.get(key) for key in keys]
    hist = np.array(
        [
            (b.runs, b.evidence_passes, b.evidence_failures, b.pass_rate)
            if b is not None and b.runs > 0
            else (0, 0.0, 0.0, np.nan)
            for b in found
        ],
        dtype=np.float64,
    ).reshape(len(keys), 4)
    if informing is None or (not callable(informing) and not informing):
        informing_mask = np.zeros(len(keys), dtype=bool)
    else:
        is_informing = informing_predicate(informing)
        informing_mask = np.array([is_informing(s, n) for s, n in keys], dtype=bool)
    return EvidenceArrays(
        suites=tuple(key[0] for key in keys),
        names=tuple(key[1] for key in keys),
        passes=passes,
        failures=failures,
        flakes=flakes,
        skips=skips,
        runs=passes + failures,
        has_history=hist[:, 0] > 0,
        hist_runs=hist[:, 0].astype(np.int64),
        hist_passes=hist[:, 1],
        hist_failures=hist[:, 2],
        hist_rate=hist[:, 3],
        informing=informing_mask,
        absent=len(base) - (len(keys) - found.count(None)),
    )


def baseline_index(
    baselines: Mapping[TestKey, TestBaseline] | Iterable[TestBaseline] | None,
) -> Mapping[TestKey, TestBaseline]:
    """Accept a ``{(suite, name): TestBaseline}`` mapping or any iterable of baselines."""
    if baselines is None:
        return {}
    if isinstance(baselines, Mapping):
        return baselines
    return {b.key: b for b in baselines}


def as_evidence(
    evidence: Iterable[TestTally] | EvidenceArrays,
    baselines: Mapping[TestKey, TestBaseline] | Iterable[TestBaseline] | None,
    informing: Informing | None = None,
) -> EvidenceArrays:
    """What every policy judges: prepared arrays as given, or tallies joined with baselines."""
    if isinstance(evidence, EvidenceArrays):
        return evidence
    return prepare_evidence(evidence, baselines, informing)
