"""The ``aggregator`` disruption policy: ci-tools' payload rules per key (SPEC §9), for
backends and (flakegate's addition) alerts.

Followed: openshift/ci-tools ``pkg/jobrunaggregator/jobrunaggregatoranalyzer/pass_fail.go``
(``checkPercentileDisruptionWithGrace``, ``innerCheckPercentileDisruptionWithGrace``,
``checkDisruptionMean``) and ``analyzer_disruption.go`` (P70 with 3 s of grace, P85 with 7 s).

History is the job's own runs 10 to 3 days before (the caller picks them, and the previous
release's job when there are fewer than 100); every statistic is taken from those runs'
seconds, zeros included, percentiles continuous as BigQuery's ``PERCENTILE_CONT``.

``P<q> should not be worse``: a run passes when its seconds are at most the historical P<q>.
Required passes: the §5 Fisher table at ``attempts`` and ``q`` read as a pass rate; the pity
factor caps it at ``attempts - 2``; when the pity did not lower it, one more is taken off
(ci-tools: "our current sample missed by one"). Then, in ci-tools' order: required <= 0 skips
("so low that we cannot latch"), zero passes fails, fewer passes than required fails. A failure
is judged once more against P<q> + grace, and that answer stands. (ci-tools' per-check "at
least three attempts" rule cannot fire after the table and the pity, whose required passes are
<= 0 below 3 attempts; its suite-level "not enough data to aggregate" is
:data:`COLLECT_CHECK`: fewer than 3 runs with data of the kind, when there is history, fails.)

``mean + 5 stddev``: the threshold is the historical mean plus five sample standard deviations,
at least 1 s; when the payload's worst run is above the historical P95 it is dropped once (the
"mulligan"); the check fails when the remaining runs' mean exceeds the threshold.

Single-node jobs are skipped (ci-tools does not aggregate them); a key without history is
skipped ("we have no historical data").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from api.disruption.checks import (
    CheckStatus,
    KeyRuns,
    PayloadCheck,
    PayloadResult,
    RunSeconds,
    judged_runs,
)
from api.disruption.history import History, KeyHistory, summarise
from api.disruption.model import MeasurementKey, RunMeasurements
from api.stats.aggregator import pity, required_passes

NAME = "aggregator"
PERCENTILE_CHECKS: tuple[tuple[int, float], ...] = ((70, 3.0), (85, 7.0))
"""``(percentile, grace seconds)`` of the "should not be worse" checks."""
MEAN_STDDEVS = 5.0
MIN_ATTEMPTS = 3
MEAN_CHECK = "mean + 5 stddev"
COLLECT_CHECK = "should collect data"


def percentile_check_name(q: int) -> str:
    return f"P{q} should not be worse"


def _key_runs(seconds: Sequence[tuple[str, int]] | KeyRuns) -> KeyRuns:
    return seconds if isinstance(seconds, KeyRuns) else KeyRuns(seconds)


def _listed(runs: Iterable[RunSeconds], passed: bool) -> str:
    return "[" + " ".join(f"{r.run_id}={r.seconds}s" for r in runs if r.passed is passed) + "]"


def _required(attempts: int, q: int, failures_pitied: int) -> int:
    strict = required_passes(attempts, q)
    pitied = pity(attempts, strict, failures_pitied)
    return pitied if pitied < strict else strict - 1


def _percentile_once(key: MeasurementKey, q: int, threshold: float, grace: float,
                     seconds: KeyRuns, failures_pitied: int) -> PayloadCheck:
    runs = seconds.at_most(threshold)
    passes = sum(r.passed for r in runs)
    attempts = len(runs)
    required = _required(attempts, q, failures_pitied)
    graced = f" (grace {grace:g}s)" if grace else ""
    detail = (f"P{q}={threshold:.2f}s{graced}, required passes {required}, "
              f"successes={_listed(runs, True)} failures={_listed(runs, False)}")
    if required <= 0:
        status, why = CheckStatus.SKIPPED, "percentile so low that we cannot latch, skipping"
    elif passes == 0:
        status, why = CheckStatus.FAIL, "zero successful runs, we require at least one"
    elif passes < required:
        status, why = CheckStatus.FAIL, f"passed {passes} times, failed {attempts - passes} times"
    else:
        status, why = CheckStatus.PASS, f"passed {passes} times, failed {attempts - passes} times"
    return PayloadCheck(key, percentile_check_name(q), status, f"{why} ({detail})", runs,
                        threshold)


def check_percentile(key: MeasurementKey, q: int, grace: float, threshold: float,
                     seconds: Sequence[tuple[str, int]] | KeyRuns, *,
                     failures_pitied: int = 2) -> PayloadCheck:
    """``P<q> should not be worse`` against the historical P<q> ``threshold``; ``seconds`` are
    the payload's ``(run_id, seconds)``."""
    seconds = _key_runs(seconds)
    first = _percentile_once(key, q, threshold, 0.0, seconds, failures_pitied)
    if first.status is not CheckStatus.FAIL:
        return first
    return _percentile_once(key, q, threshold + grace, grace, seconds, failures_pitied)


def check_mean(key: MeasurementKey, history: KeyHistory,
               seconds: Sequence[tuple[str, int]] | KeyRuns, *,
               stddevs: float = MEAN_STDDEVS) -> PayloadCheck:
    """``mean + 5 stddev`` against the key's history."""
    seconds = _key_runs(seconds)
    mean, stddev, p95 = history.mean, history.stddev, history.percentile(95)
    threshold = max(1.0, mean + stddevs * stddev)
    runs = seconds.at_most(threshold)
    values = list(seconds.seconds)
    dropped = ""
    if values and max(values) > p95 and len(values) > 1:
        worst = max(values)
        values.remove(worst)
        dropped = f", dropped one outlier of {worst}s above P95={p95:.2f}s"
    if not values:
        return PayloadCheck(key, MEAN_CHECK, CheckStatus.SKIPPED, "no runs with data", runs,
                            threshold)
    payload_mean = sum(values) / len(values)
    status = CheckStatus.FAIL if payload_mean > threshold else CheckStatus.PASS
    word = "more than" if status is CheckStatus.FAIL else "at most"
    reason = (f"mean {payload_mean:.2f}s is {word} the threshold {threshold:.2f}s "
              f"(historical mean {mean:.2f}s, standard deviation {stddev:.2f}s{dropped}; "
              f"successes={_listed(runs, True)} failures={_listed(runs, False)})")
    return PayloadCheck(key, MEAN_CHECK, status, reason, runs, threshold)


def _skipped(key: MeasurementKey, why: str, seconds: KeyRuns) -> tuple[PayloadCheck, ...]:
    runs = seconds.passing()
    names = [percentile_check_name(q) for q, _ in PERCENTILE_CHECKS] + [MEAN_CHECK]
    return tuple(PayloadCheck(key, name, CheckStatus.SKIPPED, why, runs) for name in names)


def evaluate(
    runs: Sequence[RunMeasurements],
    history: History,
    *,
    percentile_checks: tuple[tuple[int, float], ...] = PERCENTILE_CHECKS,
    stddevs: float = MEAN_STDDEVS,
    failures_pitied: int = 2,
    history_note: str = "",
    payload: Mapping[MeasurementKey, KeyRuns] | None = None,
) -> PayloadResult:
    """Judge one job's payload runs, key by key, against ``history`` (seconds per past run).

    Keys judged: every key in the history or in any run. ``history_note`` (e.g. "using the
    previous release's history") prefixes every reason. ``payload``: :func:`judged_runs` of
    the same runs and history, when already built.
    """
    past = summarise(history)
    columns = judged_runs(runs, history) if payload is None else payload
    keys = list(columns)
    single = bool(runs) and all(run.variant.topology == "single" for run in runs)
    prefix = f"{history_note}: " if history_note else ""
    checks = _collected(runs, past) if not single else []
    for key in keys:
        seconds = columns[key]
        if single:
            checks += _skipped(key, "not judged for single-node jobs", seconds)
            continue
        if key not in past:
            checks += _skipped(key, f"{prefix}we have no historical data", seconds)
            continue
        for q, grace in percentile_checks:
            check = check_percentile(key, q, grace, past[key].percentile(q), seconds,
                                     failures_pitied=failures_pitied)
            checks.append(_prefixed(check, prefix))
        checks.append(_prefixed(check_mean(key, past[key], seconds, stddevs=stddevs), prefix))
    return PayloadResult(NAME, tuple(checks))


def _collected(runs: Sequence[RunMeasurements], history: Mapping[MeasurementKey, KeyHistory]
               ) -> list[PayloadCheck]:
    out = []
    for kind in sorted({key.kind for key in history}):
        # measured anything (see payload_seconds: an empty alerts file is a clean run)
        with_data = [run.run_id for run in runs if run.seconds]
        ok = len(with_data) >= MIN_ATTEMPTS
        out.append(PayloadCheck(
            MeasurementKey(kind, ""), COLLECT_CHECK,
            CheckStatus.PASS if ok else CheckStatus.FAIL,
            f"{len(with_data)} of {len(runs)} runs have measurements for {kind}"
            + ("" if ok else f": not enough data to aggregate (at least {MIN_ATTEMPTS})")))
    return out


def _prefixed(check: PayloadCheck, prefix: str) -> PayloadCheck:
    if not prefix:
        return check
    return replace(check, reason=prefix + check.reason)
