"""What flakegate publishes on GitHub for a verdict, as frozen dataclasses. Pure: no I/O.

* :func:`status` — a commit status of the jobs sharing one context: ``pending``, ``success`` or
  ``failure``, a description of at most 140 characters in the tracker's spirit
  ("Blocked: 1 regression · 3/10 flaky · 6/10 new"), linking to the payload's page.
* :func:`check_run` — the ``flakegate`` check run: ``in_progress`` while pending, then
  ``completed`` with ``success``, ``failure``, or ``neutral`` (passed, with warnings: no
  baseline); the summary is the comment's Markdown cut to 65,535 bytes; one annotation per
  regression and per classified failed run, with the decisive log line.
* :mod:`api.github.comment` — the pull-request comment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from api.github.comment import comment_sections, cut_bytes
from api.github.describe import description, state_of
from api.services.verdicts import FAIL, PENDING, JobVerdict, PayloadVerdict

MAX_SUMMARY_BYTES = 65_535  # GitHub's limit for a check run's output.summary
MAX_ANNOTATIONS = 500  # 10 requests of 50: beyond that the summary and the pages tell
ANNOTATION_PATH = ".github"  # the runs' failures belong to no file of the repository
_LEVEL = {"new": "failure", "known": "notice", "flaky": "warning", "infra": "notice"}


@dataclass(frozen=True, slots=True)
class StatusBody:
    state: str  # pending | success | failure
    description: str
    target_url: str | None


@dataclass(frozen=True, slots=True)
class Annotation:
    annotation_level: str  # notice | warning | failure
    title: str
    message: str
    raw_details: str = ""

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"path": ANNOTATION_PATH, "start_line": 1, "end_line": 1,
                                   "annotation_level": self.annotation_level,
                                   "title": self.title, "message": self.message}
        if self.raw_details:
            body["raw_details"] = self.raw_details
        return body


@dataclass(frozen=True, slots=True)
class CheckRunBody:
    status: str  # in_progress | completed
    conclusion: str | None  # success | failure | neutral, None while in progress
    title: str
    summary: str
    details_url: str | None
    annotations: tuple[Annotation, ...] = ()


def status(jobs: Sequence[JobVerdict], target_url: str | None) -> StatusBody:
    state = {FAIL: "failure", PENDING: "pending"}.get(state_of(jobs), "success")
    return StatusBody(state=state, description=description(jobs), target_url=target_url)


def annotations_of(verdict: PayloadVerdict) -> tuple[Annotation, ...]:
    """Regressions first (failures), then each classified failed run with its decisive line."""
    found: list[Annotation] = []
    for job in verdict.jobs:
        for r in job.regressions:
            rate = ("a new test" if r.baseline_pass_rate is None
                    else f"baseline pass rate {r.baseline_pass_rate:.2%}")
            found.append(Annotation("failure", _title(f"Regression: {r.test}"),
                                    f"{job.job}: {r.test} failed {r.failures} of "
                                    f"{r.passes + r.failures} runs ({rate}). {r.reason}"))
    for job in verdict.jobs:
        for cause in job.failures.causes if job.failures else ():
            c = cause.classification
            decisive = c.decisive
            found.append(Annotation(
                _LEVEL.get(c.failure_class.value, "notice"),
                _title(f"{c.failure_class.value} failure: {job.job} run {c.run_id}"),
                c.reason or c.failure_class.value,
                "" if decisive is None else
                f"{decisive.step}:{decisive.line.line_number}: {decisive.line.line_text}"))
    return tuple(found[:MAX_ANNOTATIONS])


def _title(text: str) -> str:
    return text if len(text) <= 255 else text[:254] + "…"


def check_run(verdict: PayloadVerdict, details_url: str | None,
              public_url: str) -> CheckRunBody:
    title = description(verdict.jobs)
    body = "\n".join(comment_sections(verdict, public_url))
    summary_text = cut_bytes(body, MAX_SUMMARY_BYTES, details_url)
    if verdict.verdict == PENDING:
        return CheckRunBody("in_progress", None, title, summary_text, details_url,
                            annotations_of(verdict))
    conclusion = ("failure" if verdict.verdict == FAIL
                  else "neutral" if verdict.warnings else "success")
    return CheckRunBody("completed", conclusion, title, summary_text, details_url,
                        annotations_of(verdict))


def contexts(jobs: Iterable[tuple[str, JobVerdict]]) -> dict[str, tuple[JobVerdict, ...]]:
    """The jobs of each status context (``(context, job)`` pairs), contexts in first-seen
    order."""
    grouped: dict[str, list[JobVerdict]] = {}
    for context, job in jobs:
        grouped.setdefault(context, []).append(job)
    return {context: tuple(found) for context, found in grouped.items()}
