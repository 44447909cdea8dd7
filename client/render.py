"""A verdict as text for a terminal or a log, and as JSON. (Markdown is the server's:
``GET /payloads/{id}/verdict?format=markdown``.)"""

from __future__ import annotations

import json

from client import disruption_render
from client.models import JobVerdict, Regression, Verdict
from client.table import plural


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _p_value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2g}"


def _runs(job: JobVerdict) -> str:
    expected = "?" if job.runs.expected is None else str(job.runs.expected)
    return f"{job.runs.finished}/{expected}"


def _baseline(job: JobVerdict) -> str:
    return "none" if job.baseline is None else \
        f"v{job.baseline.version} ({plural(job.baseline.runs, 'run')})"


def _notes(job: JobVerdict) -> str:
    return ", ".join(f"{key.replace('_', ' ')}: {count}" for key, count in job.notes.items()
                     if count)


def _test_label(item: Regression) -> str:
    return f"{item.suite} :: {item.test}" if item.suite else item.test


def _regression_detail(item: Regression) -> str:
    return (f"{_test_label(item)}: {item.passes} passed, {item.failures} failed "
            f"(baseline pass rate {_percent(item.baseline_pass_rate)}, allowed failures "
            f"{_number(item.allowed_failures)}, p={_p_value(item.p_value)})"
            + (f": {item.reason}" if item.reason else ""))


def regression_line(job: str, item: Regression) -> str:
    """One line per regression, naming its job: for logs and annotations."""
    return f"{job}: {_regression_detail(item)}"


def render_text(verdict: Verdict) -> str:
    lines = [f"payload {verdict.payload}: {verdict.verdict.upper()}"
             + (f" (policy {verdict.policy})" if verdict.policy else "")]
    if verdict.deadline:
        state = "passed" if verdict.deadline_passed else "not yet passed"
        lines.append(f"  deadline {verdict.deadline.isoformat()} ({state})")
    for job in verdict.jobs:
        lines.append(
            f"  {job.verdict.upper():<7} {job.job}: runs {_runs(job)} finished, "
            f"{job.runs.counted} counted, {job.runs.pending} pending; baseline {_baseline(job)}; "
            f"{plural(job.tests_checked, 'test')} checked; regressions: {len(job.regressions)}")
        if job.reason:
            lines.append(f"          {job.reason}")
        if notes := _notes(job):
            lines.append(f"          notes: {notes}")
        lines.extend(f"          - {_regression_detail(item)}" for item in job.regressions)
        lines.extend(disruption_render.lines(job.disruption))
    if not verdict.jobs:
        lines.append("  no jobs have reported runs for this payload")
    return "\n".join(lines) + "\n"


def warning_lines(verdict: Verdict) -> list[str]:
    """One line per warning of the verdict, for stderr (stdout keeps the chosen format)."""
    return [f"flakegate: warning{f' ({item.code})' if item.code else ''}: {item.message}"
            for item in verdict.warnings]


def render_json(verdict: Verdict) -> str:
    return json.dumps(verdict.raw, indent=2, sort_keys=False) + "\n"
