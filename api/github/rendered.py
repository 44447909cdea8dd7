"""Everything flakegate would publish on GitHub for a payload, as one JSON document (``GET
/payloads/{payload_id}/github``): the GitHub Action posts it with the workflow's own token,
so a repository can get the check run and the comment without giving flakegate a token."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from api import pages_urls
from api.github import render
from api.github.comment import MARKER, comment_body
from api.github.publish import CHECK_NAME
from api.services.failures import DEFAULT_GENERIC_SHARE
from api.services.job_settings import JobSettings
from api.services.verdicts import judge, prepare
from api.store import Store


def rendering(store: Store, payload_id: str, *, public_url: str,
              generic_share: float = DEFAULT_GENERIC_SHARE) -> dict[str, Any]:
    """The statuses (one per context), the check run and the comment of the payload's verdict;
    raises :class:`~api.store.NotFound` for an unknown payload."""
    prepared = prepare(store, payload_id, generic_share=generic_share)
    verdict = judge(store, prepared)
    contexts = {item.job.name: JobSettings.of(item.job).github_context
                for item in prepared.inputs}
    page = pages_urls.payload_page(payload_id, base_url=public_url)
    grouped = render.contexts((contexts[job.job], job) for job in verdict.jobs)
    check = render.check_run(verdict, page, public_url)
    return {
        "payload": payload_id, "verdict": verdict.verdict,
        "statuses": [{"context": context, **asdict(render.status(jobs, page))}
                     for context, jobs in grouped.items()],
        "check_run": {"name": CHECK_NAME, "status": check.status,
                      "conclusion": check.conclusion, "title": check.title,
                      "summary": check.summary, "details_url": check.details_url,
                      "annotations": [a.as_json() for a in check.annotations]},
        "comment": {"marker": MARKER, "body": comment_body(verdict, public_url)},
    }
