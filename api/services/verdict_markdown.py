"""The verdict as Markdown, for job summaries, PR comments and people."""

from __future__ import annotations

from api.services.verdicts import PayloadVerdict

ICONS = {"pass": "✅", "fail": "❌", "pending": "⏳"}
MAX_ROWS = 50


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(verdict: PayloadVerdict) -> str:
    lines = [f"## {ICONS[verdict.verdict]} flakegate: `{verdict.payload}` is "
             f"**{verdict.verdict}** (policy `{verdict.policy}`)", ""]
    if verdict.deadline is not None:
        state = "passed" if verdict.deadline_passed else "not yet passed"
        lines += [f"Deadline {verdict.deadline.isoformat()} ({state}).", ""]
    lines += ["| job | verdict | runs (counted/finished/expected) | baseline | tests | why |",
              "|---|---|---|---|---:|---|"]
    for job in verdict.jobs:
        base = f"v{job.baseline.version} ({job.baseline.runs} runs)" if job.baseline else "none"
        lines.append(f"| {_cell(job.job)} | {ICONS[job.verdict]} {job.verdict} | "
                     f"{job.runs.counted}/{job.runs.finished}/{job.runs.expected} | {base} | "
                     f"{job.tests_checked} | {_cell(job.reason)} |")
    regressions = [(job.job, r) for job in verdict.jobs for r in job.regressions]
    if regressions:
        lines += ["", "### Regressions", "",
                  "| job | test | passes | failures | baseline pass rate | allowed failures "
                  "| p-value |", "|---|---|---:|---:|---:|---:|---:|"]
        for job_name, r in regressions[:MAX_ROWS]:
            rate = "new" if r.baseline_pass_rate is None else f"{r.baseline_pass_rate:.2%}"
            lines.append(f"| {_cell(job_name)} | {_cell(r.test)} | {r.passes} | {r.failures} "
                         f"| {rate} | {r.allowed_failures} | {r.p_value:.2g} |")
        if len(regressions) > MAX_ROWS:
            lines.append(f"\n… and {len(regressions) - MAX_ROWS} more (see the JSON verdict).")
    return "\n".join(lines) + "\n"
