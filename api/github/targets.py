"""Where a payload's verdict goes on GitHub: the repositories (and commit) its runs name.

A run names a repository when its metadata says ``ci: github-actions`` and carries
``repository: owner/name`` (the action's and the CLI's uploads record both, and so do runs
recorded from webhooks). The commit is the run's ``head_sha`` metadata when given (a
``pull_request`` workflow runs on a merge commit; the pull request's head is what people see),
else the payload id itself, which must then be a commit SHA.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from api.domain import Run
from api.github.client import valid_repository
from api.store import RunFilter, Store

GITHUB_CI = "github-actions"
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
RUNS_READ = 200  # per job: enough to find the repository of a payload's runs


@dataclass(frozen=True, slots=True)
class Target:
    repository: str
    sha: str
    jobs: tuple[str, ...]  # the payload's jobs with runs in this repository


def commit_of(run: Run) -> tuple[str, str] | None:
    """(repository, sha) a run publishes to, or None."""
    metadata: Mapping[str, str] = run.spec.metadata or {}
    repository = str(metadata.get("repository", ""))
    if metadata.get("ci") != GITHUB_CI or not valid_repository(repository):
        return None
    sha = str(metadata.get("head_sha") or run.spec.payload or "").lower()
    return (repository, sha) if _SHA.match(sha) else None


def targets_of(store: Store, payload_id: str, jobs: Sequence[str]) -> tuple[Target, ...]:
    """The (repository, commit) pairs the payload's runs name, each with its jobs."""
    found: dict[tuple[str, str], list[str]] = {}
    for job in jobs:
        page = store.list_runs(job, where=RunFilter(payload=payload_id), limit=RUNS_READ)
        for key in dict.fromkeys(filter(None, map(commit_of, page.items))):
            found.setdefault(key, []).append(job)
    return tuple(Target(repo, sha, tuple(names)) for (repo, sha), names in found.items())
