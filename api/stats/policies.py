"""The verdict policies by name, and the one entry point the services call.

Each policy is a pure function ``evaluate(evidence, baselines, prior, *, informing, **knobs)
-> PolicyResult`` over one job of a payload:

* ``aggregator`` (:mod:`api.stats.aggregator`): OpenShift's job-run-aggregator rules;
* ``stddev`` (:mod:`api.stats.stddev`): mean + z standard deviations of the failure count;
* ``bayes`` (:mod:`api.stats.bayes`, the default): beta-binomial posterior predictive with a
  per-payload false-block budget.

:func:`evaluate` applies the fail-safe floor (:mod:`api.stats.floor`) after any policy. A
payload fails when any of its jobs fails (:mod:`api.services.verdicts`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from api.stats import aggregator, bayes, stddev
from api.stats.evidence import EvidenceArrays, as_evidence
from api.stats.floor import apply_floor
from api.stats.types import (
    Informing,
    PolicyResult,
    Prior,
    TestBaseline,
    TestKey,
    TestTally,
)

PolicyFn = Callable[..., PolicyResult]

POLICIES: Mapping[str, PolicyFn] = {
    aggregator.NAME: aggregator.evaluate,
    stddev.NAME: stddev.evaluate,
    bayes.NAME: bayes.evaluate,
}
DEFAULT_POLICY = bayes.NAME


def _knobs(fn: PolicyFn) -> dict[str, object]:
    return {
        p.name: p.default
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "informing"
    }


KNOBS: Mapping[str, Mapping[str, object]] = {name: _knobs(fn) for name, fn in POLICIES.items()}
"""Per policy, its tuning knobs and their defaults (for validating job settings)."""


class UnknownPolicy(ValueError):
    pass


class UnknownKnob(ValueError):
    pass


def validate(policy: str, knobs: Mapping[str, object] | None = None) -> None:
    """Raise :class:`UnknownPolicy` / :class:`UnknownKnob` for names the policy does not have."""
    if policy not in POLICIES:
        raise UnknownPolicy(f"unknown policy {policy!r}; known: {', '.join(sorted(POLICIES))}")
    extra = sorted(set(knobs or ()) - set(KNOBS[policy]))
    if extra:
        raise UnknownKnob(f"policy {policy!r} has no setting {', '.join(map(repr, extra))}")


def evaluate(
    policy: str | None,
    evidence: Iterable[TestTally] | EvidenceArrays,
    baselines: Mapping[TestKey, TestBaseline] | Iterable[TestBaseline] | None,
    prior: Prior | None = None,
    *,
    informing: Informing | None = None,
    **knobs: object,
) -> PolicyResult:
    """Run ``policy`` (``None``: the default, ``bayes``) on one job of a payload."""
    name = policy or DEFAULT_POLICY
    validate(name, knobs)
    evidence = as_evidence(evidence, baselines, informing)
    result = POLICIES[name](evidence, baselines, prior, informing=informing, **knobs)
    result = apply_floor(result, evidence)  # no policy or knob goes below the fail-safe floor
    # The order of the evidence is the store's (each backend has its own); a verdict lists
    # its findings by test so that the same history gives the same JSON and Markdown anywhere.
    return replace(result,
                   regressions=tuple(sorted(result.regressions, key=lambda r: (r.suite, r.test))),
                   notes=tuple(sorted(result.notes, key=lambda n: (n.suite, n.test, n.kind.value))))

