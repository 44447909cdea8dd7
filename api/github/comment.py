"""The pull-request comment (and check run summary) for a verdict, as Markdown. Pure.

One living comment per pull request, found again by :data:`MARKER` (an HTML comment GitHub
does not show). Sections: regressions, new failures, flaky, known breakages, infra — each
failed run with its decisive log line and links to flakegate's pages (when
``FLAKEGATE_PUBLIC_URL`` is set). Every user-controlled string (job, test and run names, log
lines, reasons) goes through :mod:`api.markdown`: a hostile name renders as itself.
"""

from __future__ import annotations

from api import pages_urls
from api.failures.model import FailureClass
from api.github.describe import description
from api.markdown import code_span, inline
from api.services.failures import RunCause
from api.services.verdicts import PayloadVerdict

MARKER = "<!-- flakegate:verdict -->"
MAX_COMMENT_BYTES = 65_536  # GitHub refuses a longer comment body
MAX_ROWS = 30  # per section; the pages list the rest
MAX_LINE = 300  # characters of a decisive log line shown
ICONS = {"pass": "✅", "fail": "❌", "pending": "⏳"}
WORDS = {"pass": "passed", "fail": "blocked", "pending": "pending"}
# (class, heading) in the order people read them: what to fix first.
SECTIONS = ((FailureClass.NEW, "New failures"), (FailureClass.FLAKY, "Flaky"),
            (FailureClass.KNOWN, "Known breakages"), (FailureClass.INFRA, "Infra"))


def _link(text: str, url: str | None) -> str:
    """``text`` (escaped) as a link to ``url`` when there is one (URLs come from
    :mod:`api.pages_urls`: every user-controlled part percent-encoded)."""
    return f"[{inline(text)}]({url})" if url else inline(text)


def _url(public_url: str, build: str, *args: object) -> str | None:
    if not public_url:
        return None
    return str(getattr(pages_urls, build)(*args, base_url=public_url))


def comment_sections(verdict: PayloadVerdict, public_url: str) -> list[str]:
    """The Markdown lines shared by the comment and the check run summary."""
    payload_url = _url(public_url, "payload_page", verdict.payload)
    lines = [f"### {ICONS[verdict.verdict]} flakegate: {WORDS[verdict.verdict]}", "",
             f"**{inline(description(verdict.jobs))}** · payload {code_span(verdict.payload)}"
             + (f" · [details]({payload_url})" if payload_url else ""), ""]
    for warning in verdict.warnings:
        lines += [f"⚠️ {inline(warning.message)}", ""]
    lines += _regressions(verdict, public_url)
    causes = [(job.job, cause) for job in verdict.jobs
              for cause in (job.failures.causes if job.failures else ())]
    for failure_class, heading in SECTIONS:
        found = [(job, c) for job, c in causes
                 if c.classification.failure_class is failure_class]
        if found:
            lines += [f"#### {heading} ({len(found)})", ""]
            lines += [_cause_line(job, c, public_url) for job, c in found[:MAX_ROWS]]
            lines += [*_more(len(found), payload_url), ""]
    lines += _jobs(verdict, public_url)
    return lines


def _regressions(verdict: PayloadVerdict, public_url: str) -> list[str]:
    found = [(job.job, r) for job in verdict.jobs for r in job.regressions]
    if not found:
        return []
    lines = [f"#### Regressions ({len(found)})", "",
             "| job | test | failed runs | baseline pass rate |", "|---|---|---:|---:|"]
    for job, r in found[:MAX_ROWS]:
        rate = "new test" if r.baseline_pass_rate is None else f"{r.baseline_pass_rate:.2%}"
        test_url = _url(public_url, "page_for_test", job, r.suite, r.test)
        lines.append(f"| {_link(job, _url(public_url, 'job_page', job))} | "
                     f"{_link(r.test, test_url)} | {r.failures}/{r.passes + r.failures} | "
                     f"{rate} |")
    return [*lines, *_more(len(found), _url(public_url, "payload_page", verdict.payload)), ""]


def _cause_line(job: str, cause: RunCause, public_url: str) -> str:
    c = cause.classification
    decisive = c.decisive
    line = decisive.line.line_number if decisive else None
    run = _link(c.run_id, _url(public_url, "log_page", job, c.run_id, line))
    text = f"- {inline(job)} · run {run}"
    if c.breakage_id is not None:
        text += f" · breakage #{c.breakage_id}"
    if decisive is not None:
        shown = decisive.line.line_text[:MAX_LINE]
        text += (f" · {inline(decisive.step)} line {decisive.line.line_number}: "
                 f"{code_span(shown)}")
    if c.reason:
        text += f" — {inline(c.reason)}"
    if cause.excused:
        text += f" (excused: {inline(cause.excused_by or '')})"
    return text


def _jobs(verdict: PayloadVerdict, public_url: str) -> list[str]:
    lines = ["<details><summary>Jobs</summary>", "",
             "| job | verdict | runs (counted/finished/expected) | why |", "|---|---|---|---|"]
    for job in verdict.jobs[:200]:
        lines.append(f"| {_link(job.job, _url(public_url, 'job_page', job.job))} | "
                     f"{ICONS[job.verdict]} {job.verdict} | "
                     f"{job.runs.counted}/{job.runs.finished}/{job.runs.expected} | "
                     f"{inline(job.reason)} |")
    return [*lines, "", "</details>"]


def _more(total: int, payload_url: str | None) -> list[str]:
    if total <= MAX_ROWS:
        return []
    where = f" on the [payload page]({payload_url})" if payload_url else ""
    return ["", f"… and {total - MAX_ROWS} more{where}."]


def cut_bytes(text: str, limit: int, link: str | None) -> str:
    """``text`` within ``limit`` UTF-8 bytes, ending with a note when it had to be cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    note = "\n\n… cut here: GitHub's limit" + (f"; the rest is [on the page]({link})."
                                             if link else ".")
    kept = data[:limit - len(note.encode())].decode(errors="ignore")
    return kept[:kept.rfind("\n") + 1 or len(kept)] + note


def comment_body(verdict: PayloadVerdict, public_url: str) -> str:
    """The whole comment: the marker, then the sections, within GitHub's limit."""
    body = "\n".join([MARKER, *comment_sections(verdict, public_url)]) + "\n"
    return cut_bytes(body, MAX_COMMENT_BYTES, _url(public_url, "payload_page", verdict.payload))
