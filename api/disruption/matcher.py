"""Origin's best match: which baseline row judges a run's key in its variant (SPEC §9).

Followed: openshift/origin ``pkg/monitortestlibrary/historicaldata/disruption_types.go``
(``bestMatch``, ``evaluateBestGuesser``) and ``next_best_guess.go`` (``nextBestGuessers``):

* the exact row (same key, same :meth:`Variant.match_key`) wins when it has at least
  ``min_job_runs`` (100) runs: "any less than this is logically not a P99";
* when an exact row exists but is too thin, origin tries the previous release first
  (:data:`THIN_EXACT_LADDER`), then the ladder;
* the ladder (:data:`LADDER`) is data: named steps, each a pure ``Variant -> Variant | None``
  (``None``: the step has no opinion for this variant, e.g. a micro upgrade of a run that is not
  an upgrade). Fallback rows need *more than* ``fallback_min_job_runs`` (100) runs, as origin's
  ``percentiles.JobRuns > defaultMinJobRuns``;
* no hit: no row, and the check using it is skipped (never failed) with the reason.

Origin's order is kept: micro upgrade, previous release, both; every architecture alone (amd64,
ppc64le, s390x, arm64), then each with the micro upgrade, with the previous release, with both;
then single-node on SDN alone and with the release fallbacks. A step whose architecture equals
the run's has no opinion (origin's ``OnArchitecture``), as has SDN on an SDN run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from api.disruption.model import BaselineRow, MeasurementKey, Variant

MIN_JOB_RUNS = 100
ARCHITECTURES = ("amd64", "ppc64le", "s390x", "arm64")

Guess = Callable[[Variant], Variant | None]


def _minor(release: str) -> tuple[int, int] | None:
    parts = release.split(".")
    if len(parts) < 2 or not all(part.isascii() and part.isdigit() for part in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def micro_upgrade(variant: Variant) -> Variant | None:
    """A minor upgrade (4.10 -> 4.11) tries the micro upgrade of its release (4.11 -> 4.11)."""
    to, frm = _minor(variant.release), _minor(variant.from_release)
    if not variant.from_release or to is None or frm is None or frm[1] == to[1]:
        return None
    return replace(variant, from_release=f"{to[0]}.{to[1]}")


def previous_release(variant: Variant) -> Variant | None:
    """The same kind of run one release earlier: 4.11 -> 4.10, 4.11 from 4.11 -> 4.10 from 4.10."""
    to = _minor(variant.release)
    if to is None:
        return None
    from_release = variant.from_release
    if from_release:
        frm = _minor(from_release)
        if frm is None:
            return None
        from_release = f"{to[0]}.{frm[1] - 1}"  # origin keeps the target's major here
    return replace(variant, release=f"{to[0]}.{to[1] - 1}", from_release=from_release)


def on_architecture(architecture: str) -> Guess:
    def guess(variant: Variant) -> Variant | None:
        if variant.architecture == architecture:
            return None
        return replace(variant, architecture=architecture)

    return guess


def for_topology(topology: str) -> Guess:
    """A filter, not a change: applies only to runs of that topology."""

    def guess(variant: Variant) -> Variant | None:
        return variant if variant.topology == topology else None

    return guess


def on_sdn(variant: Variant) -> Variant | None:
    return None if variant.network == "sdn" else replace(variant, network="sdn")


def combine(*guesses: Guess) -> Guess:
    """Each guess applied to the previous one's output; no opinion if any has none."""

    def guess(variant: Variant) -> Variant | None:
        current: Variant | None = variant
        for step in guesses:
            current = step(current) if current is not None else None
        return current

    return guess


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    guess: Guess


def _ladder() -> tuple[Step, ...]:
    steps = [
        Step("micro upgrade", micro_upgrade),
        Step("previous release", previous_release),
        Step("previous release micro upgrade", combine(previous_release, micro_upgrade)),
    ]
    for suffix, extra in (("", ()), (" micro upgrade", (micro_upgrade,)),
                          (" previous release", (previous_release,)),
                          (" previous release micro upgrade", (previous_release, micro_upgrade))):
        steps += [Step(f"{arch}{suffix}", combine(on_architecture(arch), *extra))
                  for arch in ARCHITECTURES]
    single = (for_topology("single"), on_sdn)
    steps += [
        Step("single-node on sdn", combine(*single)),
        Step("single-node on sdn previous release", combine(*single, previous_release)),
        Step("single-node on sdn previous release micro upgrade",
             combine(*single, previous_release, micro_upgrade)),
    ]
    return tuple(steps)


LADDER: tuple[Step, ...] = _ladder()
"""Origin's ``nextBestGuessers``, in order."""
THIN_EXACT_LADDER: tuple[Step, ...] = (Step("previous release", previous_release), *LADDER)
"""Origin tries the previous release first when the exact row exists with too few runs."""


@dataclass(frozen=True, slots=True)
class Match:
    """The row that judges ``key`` in ``wanted`` (``None``: no historical data), and why."""

    key: MeasurementKey
    wanted: Variant
    row: BaselineRow | None
    step: str
    """``"exact"``, the ladder step's name, or ``"none"``."""
    reason: str


def describe(key: MeasurementKey, variant: Variant) -> str:
    who = key.name if not key.namespace and not key.level else (
        f"{key.name} ({key.namespace or '-'}, {key.level or '-'})")
    return (f"{who} on release={variant.release} from_release={variant.from_release or '-'} "
            f"platform={variant.platform or '-'} architecture={variant.architecture or '-'} "
            f"network={variant.network or '-'} topology={variant.topology or '-'}")


class Index(dict[tuple[MeasurementKey, tuple[str, ...]], BaselineRow]):
    """Rows by (key, match key), and the set of keys with any row (so that a key the version
    never saw answers "no historical data" without walking the ladder)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys_present: set[MeasurementKey] = set()
        self.matches: dict[Variant, dict[MeasurementKey, Match]] = {}
        """:func:`match`'s answers per variant and key (see there)."""


def index_rows(rows: Iterable[BaselineRow]) -> Index:
    """Rows by (key, match key); of two rows differing only in ``master_nodes_updated`` the one
    with more runs is kept (origin's files hold one row per match key)."""
    index = Index()
    for row in rows:
        at = (row.key, row.variant.match_key())
        if at not in index or row.job_runs > index[at].job_runs:
            index[at] = row
        index.keys_present.add(row.key)
    return index


def match(index: Index, key: MeasurementKey, variant: Variant) -> Match:
    """:func:`best_match` with origin's defaults, remembered on the index: an index holds one
    stored baseline version, which never changes, and a verdict's runs ask about the same few
    variants and keys again and again (walking the ladder for each was most of the single-run
    rule's time). Concurrent callers may both compute an answer; it is the same answer."""
    found = index.matches.get(variant)
    if found is None:
        found = index.matches.setdefault(variant, {})
    answer = found.get(key)
    if answer is None:
        answer = found[key] = best_match(index, key, variant)
    return answer


def best_match(
    index: Index,
    key: MeasurementKey,
    variant: Variant,
    *,
    min_job_runs: int = MIN_JOB_RUNS,
    fallback_min_job_runs: int = MIN_JOB_RUNS,
    ladder: tuple[Step, ...] = LADDER,
    thin_exact_ladder: tuple[Step, ...] = THIN_EXACT_LADDER,
) -> Match:
    if key not in index.keys_present:
        return Match(key, variant, None, "none",
                     f"no historical data for {describe(key, variant)}")
    exact = index.get((key, variant.match_key()))
    if exact is not None and exact.job_runs >= min_job_runs:
        return Match(key, variant, exact, "exact",
                     f"exact match for {describe(key, variant)} ({exact.job_runs} runs)")
    for step in thin_exact_ladder if exact is not None else ladder:
        guessed = step.guess(variant)
        if guessed is None:
            continue
        row = index.get((key, guessed.match_key()))
        if row is not None and row.job_runs > fallback_min_job_runs:
            return Match(key, variant, row, step.name,
                         f"no exact match for {describe(key, variant)}, fell back to "
                         f"{step.name}: {describe(key, row.variant)} ({row.job_runs} runs)")
    thin = f" (exact row has only {exact.job_runs} runs)" if exact is not None else ""
    return Match(key, variant, None, "none",
                 f"no historical data for {describe(key, variant)}{thin}")
