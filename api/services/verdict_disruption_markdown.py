"""The verdict Markdown's disruption part: per job the deciding policy's outcome, the failed
payload checks of every policy, and the single-run failures. Every user-controlled string (job,
backend and alert names, run ids, reasons) passes through :func:`api.markdown.inline`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from api.disruption.checks import PayloadCheck
from api.disruption.model import MeasurementKey
from api.disruption.single_run import RunCheck
from api.markdown import inline

if TYPE_CHECKING:
    from api.services.verdicts import JobVerdict

ICONS = {"pass": "✅", "fail": "❌", "skipped": "⏭️"}
MAX_ROWS = 50


def _key(key: MeasurementKey) -> str:
    if not key.name:
        return f"all {key.kind.value}"
    if key.namespace or key.level:
        return f"{key.name} ({key.namespace}, {key.level})"
    return key.name


def lines(jobs: Sequence[JobVerdict]) -> list[str]:
    judged = [(job.job, job.disruption) for job in jobs if job.disruption is not None]
    if not judged:
        return []
    out = ["", "### Disruption and alerts", "",
           "| job | policy | verdict | setting | runs | why |", "|---|---|---|---|---:|---|"]
    failed: list[tuple[str, str, PayloadCheck]] = []
    single: list[tuple[str, RunCheck]] = []
    for name, section in judged:
        out.append(f"| {inline(name)} | {section.policy} | {ICONS[section.verdict]} "
                   f"{section.verdict} | {section.setting} | {section.runs} | "
                   f"{inline(section.reason)} |")
        failed += [(name, result.policy, check) for result in section.policies
                   for check in result.failed]
        single += [(name, check) for check in section.single_run]
    if failed:
        out += ["", "| job | policy | key | check | why |", "|---|---|---|---|---|"]
        for job_name, policy, check in failed[:MAX_ROWS]:
            out.append(f"| {inline(job_name)} | {policy} | {inline(_key(check.key))} | "
                       f"{inline(check.check)} | {inline(check.reason)} |")
        if len(failed) > MAX_ROWS:
            out.append(f"\n… and {len(failed) - MAX_ROWS} more failed checks (see the JSON "
                       "verdict).")
    if single:
        out += ["", "Single runs above their allowance (origin's baselines; they inform):", "",
                "| job | run | key | seconds | allowed | status |", "|---|---|---|---:|---:|---|"]
        for job_name, run_check in single[:MAX_ROWS]:
            allowed = "" if run_check.allowed is None else f"{run_check.allowed:g}"
            out.append(f"| {inline(job_name)} | {inline(run_check.run_id)} | "
                       f"{inline(_key(run_check.key))} | {run_check.seconds} | {allowed} | "
                       f"{run_check.status.value} |")
        if len(single) > MAX_ROWS:
            out.append(f"\n… and {len(single) - MAX_ROWS} more (see the JSON verdict).")
    return out
