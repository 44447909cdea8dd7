"""Publish a payload's verdict on GitHub: per repository and commit its runs name
(:mod:`api.github.targets`), a commit status per context, the ``flakegate`` check run, and one
comment per open pull request whose head is that commit.

Call :func:`publish_payload` whenever the payload's verdict may have changed; it is idempotent:
each target's body digest is kept in the store (:mod:`api.store.github`), and a target whose
body did not change is not written at all. A check run and a comment are found again by their
stored id, else by name (check run) or hidden marker (comment) before one is created, and a
creation refused for a rate limit is repeated only after looking again; a lease per repository
and commit keeps two publishers of one commit from racing: it is renewed before every step (one
step can wait out rate limits for longer than the lease lasts) and publishing stops when another
publisher took it meanwhile.

Only flakegate's own comments are found again by the marker: anyone who may comment on a pull
request can write the marker too. With a GitHub App, "own" is a comment whose
``performed_via_github_app.id`` is the App's id; with a token (GitHub's REST subset flakegate
uses has no ``GET /user``), it is a comment by the login that wrote the last comment flakegate
created in the repository, kept in the store (:data:`AUTHOR_KEY`). Until flakegate has created
one there, a token adopts no comment at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from api import pages_urls
from api.github import render
from api.github.auth import AppAuth
from api.github.client import GitHubClient
from api.github.comment import MARKER, comment_body
from api.github.errors import GitHubError, GitHubRateLimited
from api.github.targets import Target, targets_of
from api.services.failures import DEFAULT_GENERIC_SHARE
from api.services.job_settings import DEFAULT_GITHUB_CONTEXT, JobSettings
from api.services.verdicts import JobVerdict, PayloadVerdict, judge, prepare
from api.store import NotFound, Store
from api.store.github import Publication

log = logging.getLogger(__name__)

CHECK_NAME = "flakegate"
ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit
LEASE_TTL = 300.0
LEASE_WAIT = 30.0
AUTHOR_KEY = "comment-author"  # the token's login, as the digest of a publication


class LeaseLost(GitHubError):
    """Another publisher took the lease while this one waited: it stops before writing more."""


class PublishIncomplete(GitHubError):
    """Some targets could not be published (the others were); publishing again is safe.
    ``retry_after`` is GitHub's asked wait when a rate limit stopped it, else None."""

    def __init__(self, message: str, result: PublishResult, retry_after: float | None):
        super().__init__(message)
        self.result = result
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Outcome:
    repository: str
    target: str  # status:<sha>:<context> | check:<sha> | comment:<pull number>
    action: str  # created | updated | unchanged | skipped | failed
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PublishResult:
    payload: str
    verdict: str | None
    outcomes: tuple[Outcome, ...] = ()
    reason: str = ""  # why nothing was published, when nothing was

    @property
    def writes(self) -> int:
        return sum(1 for o in self.outcomes if o.action in ("created", "updated"))


def digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def publish_payload(store: Store, github: GitHubClient, payload_id: str, *,
                    public_url: str = "", generic_share: float = DEFAULT_GENERIC_SHARE,
                    lease_wait: float = LEASE_WAIT, lease_ttl: float = LEASE_TTL,
                    sleep: Callable[[float], None] = time.sleep) -> PublishResult:
    """Publish ``payload_id``'s current verdict; raises :class:`PublishIncomplete` (after
    trying every target) when some could not be published."""
    try:
        prepared = prepare(store, payload_id, generic_share=generic_share)
    except NotFound:
        return PublishResult(payload_id, None, reason="no such payload")
    verdict = judge(store, prepared)
    contexts = {item.job.name: JobSettings.of(item.job).github_context
                for item in prepared.inputs}
    targets = targets_of(store, payload_id, [job.job for job in verdict.jobs])
    if not targets:
        return PublishResult(payload_id, verdict.verdict,
                             reason="no run of the payload names a GitHub repository")
    outcomes: list[Outcome] = []
    errors: list[GitHubError] = []
    for target in targets:
        holder = uuid.uuid4().hex
        lease = f"github-publish:{target.repository}:{target.sha}"
        renew = partial(_renew, store, lease, holder, lease_ttl)
        publisher = _Publisher(store, github, verdict, target, contexts, public_url, renew)
        deadline = time.monotonic() + lease_wait
        while not store.acquire_lease(lease, holder, lease_ttl):
            if time.monotonic() >= deadline:
                errors.append(GitHubError(f"{lease} is held by another publisher"))
                break
            sleep(0.2)
        else:
            try:
                outcomes += publisher.run(errors)
            finally:
                store.release_lease(lease, holder)
    result = PublishResult(payload_id, verdict.verdict, tuple(outcomes))
    if errors:
        waits = [e.retry_after for e in errors if isinstance(e, GitHubRateLimited)]
        raise PublishIncomplete("; ".join(map(str, errors)), result,
                                max(waits) if waits else None)
    return result


def _renew(store: Store, lease: str, holder: str, ttl: float) -> None:
    # Taking the lease again as its holder extends it; it fails only when another holder
    # took it after it expired.
    if not store.acquire_lease(lease, holder, ttl):
        raise LeaseLost(f"{lease} expired and was taken by another publisher")


class _Publisher:
    """One repository and commit: its statuses, check run and comments."""

    def __init__(self, store: Store, github: GitHubClient, verdict: PayloadVerdict,
                 target: Target, contexts: Mapping[str, str], public_url: str,
                 renew: Callable[[], None]) -> None:
        self.store, self.github, self.verdict, self.target = store, github, verdict, target
        self.renew = renew
        self.repo, self.sha = target.repository, target.sha
        self.contexts = contexts
        self.public_url = public_url
        self.page = (pages_urls.payload_page(verdict.payload, base_url=public_url)
                     if public_url else None)
        self.stored: dict[str, Publication] = {}  # read once per run(), by target

    def run(self, errors: list[GitHubError]) -> list[Outcome]:
        statuses = render.contexts((self.contexts.get(job.job, DEFAULT_GITHUB_CONTEXT), job)
                                   for job in self.verdict.jobs if job.job in self.target.jobs)
        keys = [f"status:{self.sha}:{c}" for c in statuses]
        keys += [f"check:{self.sha}", f"check-annotated:{self.sha}"]
        out: list[Outcome] = []
        try:
            pulls = [p for p in self.github.pulls_for_commit(self.repo, self.sha)
                     if p.get("state") == "open"]
        except GitHubError as err:
            errors.append(err)
            pulls = []
        keys += [f"comment:{int(p['number'])}" for p in pulls]
        keys.append(AUTHOR_KEY)
        steps: list[tuple[str, Callable[[], Outcome]]] = [
            (f"status:{self.sha}:{context}", partial(self.status, context, jobs))
            for context, jobs in statuses.items()]
        steps.append((f"check:{self.sha}", self.check_run))
        steps += [(f"comment:{int(p['number'])}", partial(self.comment, p)) for p in pulls]
        for key, step in steps:
            try:
                self.renew()
                # Read after renewing: a publisher that held the lease while it had expired
                # may have written (and recorded) what this step would otherwise create again.
                self.stored = self.store.github.publications(self.repo, keys)
                out.append(step())
            except LeaseLost as err:
                errors.append(err)
                out.append(Outcome(self.repo, key, "failed", str(err)))
                break
            except GitHubError as err:
                log.warning("publishing %s %s failed: %s", self.repo, key, err)
                errors.append(err)
                out.append(Outcome(self.repo, key, "failed", str(err)))
        return out

    def _unchanged(self, key: str, body_digest: str) -> bool:
        found = self.stored.get(key)
        return found is not None and found.digest == body_digest

    def _record(self, key: str, body_digest: str, remote_id: int | None) -> None:
        self.store.github.put_publication(Publication(self.repo, key, body_digest, remote_id))

    # -- a commit status per context ----------------------------------------------------------

    def status(self, context: str, jobs: tuple[JobVerdict, ...]) -> Outcome:
        key = f"status:{self.sha}:{context}"
        body = render.status(jobs, self.page)
        body_digest = digest(asdict(body))
        if self._unchanged(key, body_digest):
            return Outcome(self.repo, key, "unchanged")
        self.github.create_status(self.repo, self.sha, state=body.state, context=context,
                                  description=body.description, target_url=body.target_url)
        self._record(key, body_digest, None)
        return Outcome(self.repo, key, "updated", body.state)

    # -- the check run ------------------------------------------------------------------------

    def check_run(self) -> Outcome:
        key = f"check:{self.sha}"
        body = render.check_run(self.verdict, self.page, self.public_url)
        body_digest = digest(asdict(body))
        if self._unchanged(key, body_digest):
            return Outcome(self.repo, key, "unchanged")
        # Annotations are appended by every update that carries them: they go once, with the
        # first completed publication (the summary always shows the current verdict).
        annotated = f"check-annotated:{self.sha}" in self.stored
        send = list(body.annotations) if body.status == "completed" and not annotated else []
        request: dict[str, Any] = {
            "name": CHECK_NAME, "status": body.status, "external_id": self.verdict.payload,
            "output": {"title": body.title, "summary": body.summary,
                       "annotations": [a.as_json() for a in send[:ANNOTATIONS_PER_REQUEST]]}}
        if body.details_url:
            request["details_url"] = body.details_url
        if body.conclusion:
            request["conclusion"] = body.conclusion
        found = self.stored.get(key)
        check_id = found.remote_id if found else None
        try:
            check_id, action = self._write_check_run(check_id, request)
        except GitHubError as err:
            if err.status == 403 and not isinstance(err, GitHubRateLimited):
                # A personal token cannot write check runs (GitHub Apps and the workflow's
                # token can): the status and the comment still carry the verdict.
                return Outcome(self.repo, key, "skipped", str(err))
            raise
        for start in range(ANNOTATIONS_PER_REQUEST, len(send), ANNOTATIONS_PER_REQUEST):
            batch = send[start:start + ANNOTATIONS_PER_REQUEST]
            self.github.update_check_run(self.repo, check_id, {"output": {
                "title": body.title, "summary": body.summary,
                "annotations": [a.as_json() for a in batch]}})
        if send:
            self._record(f"check-annotated:{self.sha}", digest(len(send)), check_id)
        self._record(key, body_digest, check_id)
        return Outcome(self.repo, key, action, body.conclusion or body.status)

    def _write_check_run(self, check_id: int | None,
                         request: dict[str, Any]) -> tuple[int, str]:
        if check_id is None:
            check_id = self._find_check_run()
        if check_id is not None:
            try:
                self.github.update_check_run(self.repo, check_id, request)
                return check_id, "updated"
            except GitHubError as err:
                if err.status != 404:
                    raise  # a check run deleted with its suite: made anew below
        created = self._create(lambda: self.github.create_check_run(
            self.repo, {**request, "head_sha": self.sha}), self._find_check_run)
        return int(created["id"]), "created"

    def _find_check_run(self) -> int | None:
        runs = self.github.list_check_runs(self.repo, self.sha, CHECK_NAME)
        return int(runs[0]["id"]) if runs else None

    def _create(self, create: Callable[[], dict[str, Any]],
                find: Callable[[], Any]) -> dict[str, Any]:
        """``create()``, repeated once after a rate limit only when ``find()`` shows the refused
        attempt created nothing."""
        try:
            return create()
        except GitHubRateLimited as err:
            if not self.github.pause(err.retry_after):
                raise
            self.renew()
            existing = find()
            if existing is not None:
                return {"id": existing} if isinstance(existing, int) else dict(existing)
            return create()

    # -- one comment per pull request ---------------------------------------------------------

    def comment(self, pull: Mapping[str, Any]) -> Outcome:
        number = int(pull["number"])
        key = f"comment:{number}"
        head = str((pull.get("head") or {}).get("sha", "")).lower()
        if head != self.sha:
            # A late run of an older commit must not overwrite the verdict of the PR's head.
            return Outcome(self.repo, key, "skipped", f"{self.sha} is not the head of #{number}")
        body = comment_body(self.verdict, self.public_url)
        body_digest = digest(body)
        if self._unchanged(key, body_digest):
            return Outcome(self.repo, key, "unchanged")
        found = self.stored.get(key)
        if found is not None and found.remote_id is not None:
            try:
                self.github.update_issue_comment(self.repo, found.remote_id, body)
                self._record(key, body_digest, found.remote_id)
                return Outcome(self.repo, key, "updated")
            except GitHubError as err:
                if not _gone_or_refused(err):
                    raise
        existing = self._find_comment(number, None if found is None else found.remote_id)
        if existing is not None:
            try:
                if existing.get("body") != body:
                    self.github.update_issue_comment(self.repo, int(existing["id"]), body)
                self._record(key, body_digest, int(existing["id"]))
                return Outcome(self.repo, key, "updated" if existing.get("body") != body
                               else "unchanged")
            except GitHubError as err:
                if not _gone_or_refused(err):
                    raise
        created = self._create(
            lambda: self.github.create_issue_comment(self.repo, number, body),
            lambda: self._find_comment(number))
        login = (created.get("user") or {}).get("login")
        if login and not isinstance(self.github.auth, AppAuth):
            self._record(AUTHOR_KEY, digest(login), None)
        self._record(key, body_digest, int(created["id"]))
        return Outcome(self.repo, key, "created")

    def _find_comment(self, number: int, refused: int | None = None) -> dict[str, Any] | None:
        """flakegate's own marked comment on ``number`` (not ``refused``, whose edit failed)."""
        for found in self.github.list_issue_comments(self.repo, number):
            if (str(found.get("body") or "").startswith(MARKER) and self._ours(found)
                    and found.get("id") != refused):
                return found
        return None

    def _ours(self, comment: Mapping[str, Any]) -> bool:
        auth = self.github.auth
        if isinstance(auth, AppAuth):
            app = comment.get("performed_via_github_app") or {}
            return str(app.get("id")) == auth.app_id
        author = self.stored.get(AUTHOR_KEY)
        login = (comment.get("user") or {}).get("login")
        return author is not None and bool(login) and digest(login) == author.digest


def _gone_or_refused(err: GitHubError) -> bool:
    """A comment deleted (404, 410, 422) or not flakegate's to edit (403: adopted before only
    its own comments were, or written by another login): a new one is made, never stuck."""
    return err.status in (403, 404, 410, 422) and not isinstance(err, GitHubRateLimited)


def publish_with_config(store: Store, config: Mapping[str, Any],
                        payload_id: str) -> PublishResult | None:
    """:func:`publish_payload` with the app's configuration; None when GitHub is not
    configured (neither a token nor an App)."""
    from api.github.client import client_from_config

    github = client_from_config(config)
    if github is None:
        return None
    share = float(config.get("GENERIC_PATTERN_SHARE", DEFAULT_GENERIC_SHARE))
    return publish_payload(store, github, payload_id,
                           public_url=str(config.get("PUBLIC_URL") or ""), generic_share=share)
