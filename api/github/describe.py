"""The one line that sums up a verdict (a commit status description, a check run title, the
comment's first line), in the tracker's spirit: "Blocked: 1 regression · 3/10 flaky · 6/10 new".
Pure."""

from __future__ import annotations

from collections.abc import Sequence

from api.failures.classify import summary
from api.services.verdicts import FAIL, PENDING, JobVerdict

MAX_DESCRIPTION = 140  # GitHub's limit for a commit status description
_WORD = {"pass": "Passed", "fail": "Blocked", "pending": "Pending"}


def state_of(jobs: Sequence[JobVerdict]) -> str:
    verdicts = {job.verdict for job in jobs}
    return FAIL if FAIL in verdicts else PENDING if PENDING in verdicts else "pass"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def description(jobs: Sequence[JobVerdict]) -> str:
    """The one line of ``jobs``' verdict: at most 140 characters."""
    state = state_of(jobs)
    parts = []
    regressions = sum(len(job.regressions) for job in jobs)
    if regressions:
        parts.append(_plural(regressions, "regression"))
    causes = [c.classification for job in jobs if job.failures for c in job.failures.causes]
    if causes:
        parts += summary(causes).split(", ")
    if state == PENDING:
        pending = [job for job in jobs if job.verdict == PENDING]
        finished = sum(job.runs.finished for job in pending)
        expected = sum(job.runs.expected for job in pending)
        parts.append(f"{finished}/{expected} runs finished")
    elif not parts:
        tests = sum(job.tests_checked for job in jobs)
        parts.append(f"no regression in {tests:,} tests")
    unjudged = sum(1 for job in jobs if job.warnings)
    if unjudged:
        parts.append(f"no baseline for {_plural(unjudged, 'job')}")
    text = f"{_WORD[state]}: " + " · ".join(parts)
    return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION - 1] + "…"
