"""A verdict as text for a terminal or a log, and as Markdown for a job summary or a comment."""

from __future__ import annotations

import json
from collections.abc import Iterable

from client.models import JobVerdict, Regression, Verdict

MARKS = {"pass": "✅", "fail": "❌", "pending": "⏳"}
CELL_MAX = 300  # characters per table cell: a test name or reason can be kilobytes long


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
    return "none" if job.baseline is None else f"v{job.baseline.version} ({job.baseline.runs} runs)"


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
            f"{job.tests_checked} tests checked; regressions: {len(job.regressions)}")
        if job.reason:
            lines.append(f"          {job.reason}")
        if notes := _notes(job):
            lines.append(f"          notes: {notes}")
        lines.extend(f"          - {_regression_detail(item)}" for item in job.regressions)
    if not verdict.jobs:
        lines.append("  no jobs have reported runs for this payload")
    return "\n".join(lines) + "\n"


def render_json(verdict: Verdict) -> str:
    return json.dumps(verdict.raw, indent=2, sort_keys=False) + "\n"


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell: one line, no column breaks, no raw HTML."""
    value = " ".join(str(text).split())
    if len(value) > CELL_MAX:
        value = value[:CELL_MAX - 1] + "…"
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("`", "\\`"))


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(cell(value) for value in row) + " |" for row in rows)
    return lines


REGRESSION_HEADER = ("job", "test", "passes", "failures", "baseline pass rate",
                     "allowed failures", "p-value", "reason")


def _regression_row(job: str, item: Regression) -> list[object]:
    return [job, _test_label(item), item.passes, item.failures,
            _percent(item.baseline_pass_rate), _number(item.allowed_failures),
            _p_value(item.p_value), item.reason]


def render_markdown(verdict: Verdict, *, max_bytes: int | None = None,
                    report_url: str | None = None, title: str = "flakegate") -> str:
    """The verdict, a table of jobs, and a table of regressions. With ``max_bytes`` the
    regression table is cut short (saying how many rows were left out) so the whole fits."""
    mark = MARKS.get(verdict.verdict, "")
    head = [f"## {mark} {title}: payload `{cell(verdict.payload)}` is **{verdict.verdict}**",
            ""]
    facts = []
    if verdict.policy:
        facts.append(f"policy `{verdict.policy}`")
    if verdict.deadline:
        facts.append(f"deadline {verdict.deadline.isoformat()}"
                     + (" (passed)" if verdict.deadline_passed else ""))
    if report_url:
        facts.append(f"[full report]({report_url})")
    if facts:
        head += [", ".join(facts), ""]
    if verdict.jobs:
        head += _table(
            ("job", "verdict", "runs finished/expected", "counted", "baseline", "tests checked",
             "regressions", "notes"),
            ([f"{MARKS.get(job.verdict, '')} {job.job}", job.verdict, _runs(job),
              job.runs.counted, _baseline(job), job.tests_checked, len(job.regressions),
              _notes(job) or job.reason] for job in verdict.jobs))
    else:
        head.append("No jobs have reported runs for this payload yet.")
    head.append("")
    regressions = verdict.regressions
    if not regressions:
        return _fit("\n".join(head) + "\n", max_bytes)
    lines = [*head, "### Regressions", "", *_table(REGRESSION_HEADER, [])]
    chunks = ["\n".join(lines) + "\n"]
    size = len(chunks[0].encode())
    budget = None if max_bytes is None else max_bytes - 400  # room for the "left out" line
    shown = 0
    for job, item in regressions:
        row = _table(REGRESSION_HEADER, [_regression_row(job, item)])[2] + "\n"
        size += len(row.encode())
        if budget is not None and size > budget:
            break
        chunks.append(row)
        shown += 1
    body = "".join(chunks)
    if shown < len(regressions):
        body += (f"\n_{len(regressions) - shown} more regressions are not shown here "
                 "(size limit)"
                 + (f"; see the [full report]({report_url})" if report_url else "") + "._\n")
    return _fit(body, max_bytes)


def _fit(text: str, max_bytes: int | None) -> str:
    # Only a huge jobs table gets here (the regression rows were already budgeted): cut at a
    # character boundary rather than let the consumer (GitHub) drop the whole summary.
    data = text.encode()
    if max_bytes is None or len(data) <= max_bytes:
        return text
    return data[:max_bytes - 20].decode(errors="ignore") + "\n\n_(truncated)_\n"
