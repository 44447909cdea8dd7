"""Every policy and baseline knob's default, in one table.

The job settings (:class:`api.services.job_settings.JobSettings`), the policy functions'
keyword defaults (:mod:`~api.stats.bayes`, :mod:`~api.stats.stddev`,
:mod:`~api.stats.aggregator`) and the baseline computation read their defaults from
:data:`POLICY_DEFAULTS`, so a default is changed here once and the README, ``openapi.yaml`` and
the settings table in ``job_settings`` are checked against it by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PolicyKnobs:
    # -- job settings (``PUT /jobs/{job}`` ``{"settings": ...}``), named as the settings are --
    false_block_budget: float = 0.01
    """``bayes`` (its ``budget``): how often a good payload may be blocked, per job."""
    z: float = 1.0
    """``stddev``: standard deviations of allowance above the expected failures."""
    min_attempts: int = 6
    """``aggregator``: fewer attempts than this fail every test that ran."""
    window_days: int = 21
    """Baselines: the history window, in days."""
    max_runs: int = 200
    """Baselines: at most this many newest runs."""
    latch: bool = False
    """Baselines: a new version never lowers a test's pass rate."""
    run_timeout: str = "12h"
    """Verdicts: a run still pending this long after it started (or was created) counts as an
    ``error``, so a lost upload cannot keep a payload pending forever."""

    # -- policy internals: keyword arguments of the policy functions, no job setting ---------
    tiny_history: int = 20
    """``bayes``, ``stddev``: fewer baseline runs than this are noted (the prior dominates)."""
    alternatives: tuple[tuple[float, float], ...] = ((0.3, 1.0), (0.5, 1.0), (1.0, 1.0))
    """``bayes``: reference regressions ``(failure rate, weight)`` the budget maximises power
    for."""
    safety: float = 0.1
    """``bayes``: share of the budget held back for model error (the prior is a point
    estimate)."""
    permanent_min_runs: int = 3
    """``bayes``: a test failing all of at least this many runs is a permanent failure."""
    permanent_alpha: float = 1e-3
    """``bayes``: such all-fail cuts are reserved when at most this likely, per test."""
    permanent_share: float = 0.5
    """``bayes``: at most this share of the spendable budget goes to all-fail cuts."""
    unknown_history_percent: int = 70
    """``aggregator``: the pass rate (percent) assumed for a test without history."""
    require_one_pass: bool = True
    """``aggregator``: a test that ran must pass at least once."""
    failures_pitied: int = 2
    """``aggregator``: the pity factor's allowance of failures."""


POLICY_DEFAULTS = PolicyKnobs()
