"""Value types of the statistical core: counts in, verdicts out.

Every type is a frozen dataclass (or a ``NamedTuple``) with no behaviour beyond derived
properties, so the store, the services and the simulation bench all speak the same vocabulary
as the pure policy functions.

Counting conventions (used everywhere in :mod:`api.stats`):

* Per test and per run, the merged outcome (:class:`api.domain.TestStatus`) is exactly one of
  *passed*, *flaked* (failed and passed inside the run: counts as a pass), *failed* (``failed``
  or ``error``) or *skipped*.
* ``passes`` counts **clean** passes only; ``flakes`` is disjoint from ``passes``. A test's
  evidence is ``runs = passes + flakes + failures``: skips are not evidence.
* ``pass_rate = (passes + flakes) / runs`` (a flake counts as a pass).
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

TestKey = tuple[str, str]
"""A test's identity within a job: ``(suite, name)``."""

Informing = Collection[TestKey] | Callable[[str, str], bool]
"""Tests that never block: a set of ``(suite, name)`` keys or a predicate ``(suite, name)``."""


@dataclass(frozen=True, slots=True)
class TestTally:
    """One test's outcome counts over a set of runs (history or one payload's counted runs)."""

    __test__ = False  # not a pytest test class

    suite: str
    name: str
    passes: int = 0
    failures: int = 0
    flakes: int = 0
    skips: int = 0

    def __post_init__(self) -> None:
        if min(self.passes, self.failures, self.flakes, self.skips) < 0:
            raise ValueError(f"negative count in tally of {self.suite!r} {self.name!r}")

    @property
    def key(self) -> TestKey:
        return (self.suite, self.name)

    @property
    def runs(self) -> int:
        """Runs that are evidence for this test: passed, flaked or failed (skips excluded)."""
        return self.passes + self.flakes + self.failures

    @property
    def effective_passes(self) -> int:
        """Runs that count as a pass for the verdict: clean passes plus flakes."""
        return self.passes + self.flakes


@dataclass(frozen=True, slots=True)
class TestBaseline:
    """One test's stored baseline within one baseline version of a job.

    ``runs``, ``passes``, ``failures`` and ``flakes`` are what the window observed. ``pass_rate``
    and ``stddev`` are what the policies judge against: equal to the observed values unless
    ``latched``, in which case they were carried over from the previous version because the
    window's rate was lower (see :func:`api.stats.baseline.compute_baseline`);
    ``observed_pass_rate`` then keeps the window's own rate visible. ``stddev`` is the population
    standard deviation (ddof = 0) of the per-run failure indicator, ``sqrt(q * (1 - q))`` with
    ``q = 1 - pass_rate``.
    """

    __test__ = False

    suite: str
    name: str
    runs: int
    passes: int
    failures: int
    flakes: int
    pass_rate: float
    stddev: float
    latched: bool = False
    observed_pass_rate: float | None = None  # None: same as pass_rate

    @property
    def key(self) -> TestKey:
        return (self.suite, self.name)

    @property
    def evidence_failures(self) -> float:
        """Failure count the policies use: observed, or ``runs * (1 - pass_rate)`` if latched."""
        if not self.latched:
            return float(self.failures)
        return self.runs * (1.0 - self.pass_rate)

    @property
    def evidence_passes(self) -> float:
        """Pass count (flakes included) the policies use; see :attr:`evidence_failures`."""
        if not self.latched:
            return float(self.passes + self.flakes)
        return self.runs * self.pass_rate


@dataclass(frozen=True, slots=True)
class Prior:
    """The job's prior on a test's per-run **failure** probability (empirical Bayes).

    Either one ``Beta(alpha, beta)`` (``components == ()``), or a finite mixture of betas given
    as ``components = ((weight, alpha, beta), ...)`` with weights summing to 1; then ``alpha`` and
    ``beta`` hold the single beta with the mixture's mean and variance (a summary for display and
    for consumers that only know one beta). Build mixtures with :meth:`mixture`. Stored as
    :meth:`to_dict` / :meth:`from_dict`.
    """

    alpha: float
    beta: float
    components: tuple[tuple[float, float, float], ...] = ()

    def __post_init__(self) -> None:
        for _, a, b in self.parts:
            if not (a > 0 and b > 0 and math.isfinite(a + b)):
                raise ValueError(f"improper beta prior ({a}, {b})")
        if self.components:
            weights = [w for w, _, _ in self.components]
            if min(weights) < 0 or not math.isclose(sum(weights), 1.0, rel_tol=1e-9):
                raise ValueError("mixture weights must be non-negative and sum to 1")

    @classmethod
    def mixture(cls, components: Iterable[tuple[float, float, float]]) -> Prior:
        """A mixture prior from ``(weight, alpha, beta)`` triples (weights are normalised)."""
        parts = [(float(w), float(a), float(b)) for w, a, b in components if w > 0]
        if not parts:
            raise ValueError("a mixture needs at least one component of positive weight")
        total = sum(w for w, _, _ in parts)
        parts = [(w / total, a, b) for w, a, b in parts]
        if len(parts) == 1:
            return cls(parts[0][1], parts[0][2])
        mean = sum(w * a / (a + b) for w, a, b in parts)
        second = sum(w * a * (a + 1) / ((a + b) * (a + b + 1)) for w, a, b in parts)
        var = max(second - mean * mean, 1e-300)
        strength = max(mean * (1 - mean) / var - 1.0, 1e-6)
        return cls(mean * strength, (1 - mean) * strength, tuple(parts))

    @property
    def parts(self) -> tuple[tuple[float, float, float], ...]:
        """``(weight, alpha, beta)`` of each component (one, of weight 1, for a single beta)."""
        return self.components or ((1.0, self.alpha, self.beta),)

    @property
    def mean_failure_rate(self) -> float:
        return sum(w * a / (a + b) for w, a, b in self.parts)

    @property
    def strength(self) -> float:
        """Pseudo-runs the (summary) beta is worth: ``alpha + beta``."""
        return self.alpha + self.beta

    def to_dict(self) -> dict[str, object]:
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "components": [list(c) for c in self.components],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prior:
        """The inverse of :meth:`to_dict`; ``data`` is decoded JSON, hence ``Any`` values."""
        comps = data.get("components") or ()
        if comps:
            return cls.mixture(tuple(tuple(c) for c in comps))
        return cls(float(data["alpha"]), float(data["beta"]))

    def describe(self) -> str:
        if not self.components:
            return f"Beta({self.alpha:.3g}, {self.beta:.3g})"
        inner = " + ".join(f"{w:.3g}*Beta({a:.3g}, {b:.3g})" for w, a, b in self.components)
        return f"mixture {inner}"


class ComputedBaseline(NamedTuple):
    """What :func:`api.stats.baseline.compute_baseline` returns (unpacks as ``tests, prior``)."""

    tests: tuple[TestBaseline, ...]
    prior: Prior


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"


class NoteKind(enum.StrEnum):
    """Why a test got a note instead of (or besides) an ordinary check."""

    NEW_TEST = "new_test"  # no baseline for the test: judged on the job prior / defaults
    DID_NOT_RUN = "did_not_run"  # no pass, flake or failure in any counted run of the payload
    INTENDED_SKIP = "intended_skip"  # aggregator: no passes and more skips than failures
    TINY_HISTORY = "tiny_history"  # a baseline from very few runs
    INFORMING = "informing"  # an informing test that would have blocked
    UNBLOCKABLE = "unblockable"  # bayes: no budget could be spent on it (e.g. 1 run, flaky)


@dataclass(frozen=True, slots=True)
class Note:
    test: str
    suite: str
    kind: NoteKind
    detail: str


@dataclass(frozen=True, slots=True)
class Regression:
    """One blocking test, with the evidence shown in the verdict body.

    ``passes`` counts flakes as passes, so ``passes + failures`` is the number of counted runs
    in which the test ran.
    """

    test: str
    suite: str
    passes: int
    failures: int
    baseline_pass_rate: float | None
    allowed_failures: int
    p_value: float
    reason: str


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """A policy's verdict on one job of a payload.

    ``tests_checked`` counts the non-informing tests that ran in at least one counted run.
    ``absent`` counts baseline tests that did not appear in the payload's evidence at all.
    ``budget`` is the per-payload false-block budget the policy worked with (``None`` for the
    rule-based policies).
    """

    policy: str
    verdict: Verdict
    tests_checked: int
    regressions: tuple[Regression, ...]
    notes: tuple[Note, ...] = ()
    absent: int = 0
    budget: float | None = None

    @property
    def note_counts(self) -> dict[str, int]:
        return dict(Counter(note.kind.value for note in self.notes))


def record_finding(
    regression: Regression, informing: bool, regressions: list[Regression], notes: list[Note]
) -> None:
    """File a would-be regression: an informing test's becomes a note, since it never blocks."""
    if informing:
        notes.append(Note(regression.test, regression.suite, NoteKind.INFORMING,
                          f"informing test would have failed: {regression.reason}"))
    else:
        regressions.append(regression)
