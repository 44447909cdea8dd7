"""flakegate's statistical core: pure functions over counts, no I/O.

* :mod:`api.stats.types`: the value types (tallies, baselines, prior, policy results).
* :mod:`api.stats.baseline`: per-test baselines with latching, and the job's fitted prior.
* :mod:`api.stats.aggregator`, :mod:`api.stats.stddev`, :mod:`api.stats.bayes`: the policies.
* :mod:`api.stats.policies`: the policies by name and the entry point the services call.
* :mod:`api.stats.simulate`: simulated jobs of known truth for the decision-quality benchmarks
  and tests; the server never imports it.
"""

from api.stats.baseline import DEFAULT_PRIOR, compute_baseline, fit_prior, tally_runs
from api.stats.evidence import EvidenceArrays, prepare_evidence
from api.stats.policies import (
    DEFAULT_POLICY,
    KNOBS,
    POLICIES,
    UnknownKnob,
    UnknownPolicy,
    evaluate,
    validate,
)
from api.stats.types import (
    ComputedBaseline,
    Note,
    NoteKind,
    PolicyResult,
    Prior,
    Regression,
    TestBaseline,
    TestKey,
    TestTally,
    Verdict,
)

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_PRIOR",
    "KNOBS",
    "POLICIES",
    "ComputedBaseline",
    "EvidenceArrays",
    "Note",
    "NoteKind",
    "PolicyResult",
    "Prior",
    "Regression",
    "TestBaseline",
    "TestKey",
    "TestTally",
    "UnknownKnob",
    "UnknownPolicy",
    "Verdict",
    "compute_baseline",
    "evaluate",
    "fit_prior",
    "prepare_evidence",
    "tally_runs",
    "validate",
]
