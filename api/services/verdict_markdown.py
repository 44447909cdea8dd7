"""The verdict as Markdown, for job summaries, PR comments and people.

Every string that comes from users (payload, job, test names, policy, reasons, the deadline)
passes through :mod:`api.markdown`, so a hostile name renders as itself and cannot add headings,
links, HTML, mentions or table rows to a PR comment.
"""

from __future__ import annotations

from api.markdown import code_span, inline
from api.services import verdict_disruption_markdown
from api.services.verdicts import PayloadVerdict

ICONS = {"pass": "✅", "fail": "❌", "pending": "⏳"}
MAX_ROWS = 50


def render(verdict: PayloadVerdict) -> str:
    lines = [f"## {ICONS[verdict.verdict]} flakegate: {code_span(verdict.payload)} is "
             f"**{verdict.verdict}** (policy {code_span(verdict.policy)})", ""]
    if verdict.deadline is not None:
        state = "passed" if verdict.deadline_passed else "not yet passed"
        lines += [f"Deadline {inline(verdict.deadline.isoformat())} ({state}).", ""]
    if verdict.warnings:
        # One paragraph each, no markup of ours beyond the icon: the message names the job.
        for warning in verdict.warnings:
            lines += [f"⚠️ Warning ({inline(warning.code)}): {inline(warning.message)}", ""]
    lines += ["| job | verdict | runs (counted/finished/expected) | baseline | tests | why |",
              "|---|---|---|---|---:|---|"]
    for job in verdict.jobs:
        base = f"v{job.baseline.version} ({job.baseline.runs} runs)" if job.baseline else "none"
        lines.append(f"| {inline(job.job)} | {ICONS[job.verdict]} {job.verdict} | "
                     f"{job.runs.counted}/{job.runs.finished}/{job.runs.expected} | {base} | "
                     f"{job.tests_checked} | {inline(job.reason)} |")
    lines += failure_lines(verdict)
    regressions = [(job.job, r) for job in verdict.jobs for r in job.regressions]
    if regressions:
        lines += ["", "### Regressions", "",
                  "| job | test | passes | failures | baseline pass rate | allowed failures "
                  "| p-value |", "|---|---|---:|---:|---:|---:|---:|"]
        for job_name, r in regressions[:MAX_ROWS]:
            rate = "new" if r.baseline_pass_rate is None else f"{r.baseline_pass_rate:.2%}"
            lines.append(f"| {inline(job_name)} | {inline(r.test)} | {r.passes} | {r.failures} "
                         f"| {rate} | {r.allowed_failures} | {r.p_value:.2g} |")
        if len(regressions) > MAX_ROWS:
            lines.append(f"\n… and {len(regressions) - MAX_ROWS} more (see the JSON verdict).")
    lines += verdict_disruption_markdown.lines(verdict.jobs)
    return "\n".join(lines) + "\n"


def failure_lines(verdict: PayloadVerdict) -> list[str]:
    """Why runs failed (SPEC §10): per job with failed runs, the tracker's summary line and
    the runs its ``excuse`` setting excused."""
    out: list[str] = []
    for job in verdict.jobs:
        if job.failures is None:
            continue
        line = f"- {inline(job.job)}: {inline(job.failures.summary)}"
        excused = job.failures.excused
        if excused:
            runs = ", ".join(f"{inline(c.classification.run_id)} ({inline(c.excused_by or '')})"
                             for c in excused)
            line += f"; excused (not evidence): {runs}"
        out.append(line)
    return ["", "### Why runs failed", "", *out] if out else []
