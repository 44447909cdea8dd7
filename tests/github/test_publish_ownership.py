"""Review fix K, against the validating GitHub double: only flakegate's own comment is found
again by the marker (anyone may write the marker), a stored comment flakegate may not edit is
replaced instead of failing forever, and the publishing lease is renewed so that a publisher
whose lease expired mid-publish creates nothing another publisher may be creating."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.github.auth import AppAuth, TokenAuth
from api.github.client import GitHubClient
from api.github.comment import MARKER
from api.github.publish import PublishIncomplete, publish_payload
from api.store import Store, open_store
from api.store.github import Publication
from tests.conftest import ApiClient
from tests.github_double import GitHubDouble, Sleeps, make_app_key
from tests.github_scenario import E2E, REPO, SHA, build, put_run

PUBLIC = "https://flakegate.example"
FAKE = f"{MARKER}\n### ✅ flakegate: passed"
LEASE = f"github-publish:{REPO}:{SHA}"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


@pytest.fixture
def github(github_double: GitHubDouble) -> GitHubClient:
    assert github_double.token is not None
    return GitHubClient(github_double.api_url, TokenAuth(github_double.token), sleep=Sleeps())


def publish(store: Store, github: GitHubClient):
    return publish_payload(store, github, SHA, public_url=PUBLIC)


def test_a_planted_marker_comment_is_neither_edited_nor_adopted(
        api: ApiClient, store: Store, github: GitHubClient,
        github_double: GitHubDouble) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    planted = github_double.state.plant_comment(REPO, 12, FAKE, login="mallory")
    result = publish(store, github)
    comments = github_double.state.comments_on(REPO, 12)
    assert len(comments) == 2 and comments[0]["body"] == FAKE
    ours = dict(comments[1])  # a copy: the double edits its own in place
    assert ours["user"]["login"] == "github-actions[bot]" and "blocked" in ours["body"]
    assert [o.action for o in result.outcomes if o.target == "comment:12"] == ["created"]
    assert not [c for c in github_double.calls("issues/update-comment")
                if c.path.endswith(f"/{planted['id']}")]

    # flakegate's own comment is edited in place; a marker planted later is still ignored
    # even when flakegate has lost the id it stored (a restored backup).
    put_run(api, E2E, "9001-10", payload=SHA, status="success", outcomes={"test-000": "passed"})
    with store.db.write() as tx:  # type: ignore[attr-defined]
        tx.conn.execute("DELETE FROM github_publications WHERE target LIKE 'comment:%'")
    github_double.state.plant_comment(REPO, 12, FAKE, login="eve")
    publish(store, github)
    after = {c["id"]: c for c in github_double.state.comments_on(REPO, 12)}
    assert len(after) == 3
    assert after[ours["id"]]["body"] != ours["body"]  # edited in place
    assert [c["body"] for i, c in after.items() if i != ours["id"]] == [FAKE, FAKE]
    assert len(github_double.calls("issues/create-comment")) == 1


def test_a_stored_comment_flakegate_may_not_edit_is_replaced(
        api: ApiClient, store: Store, github: GitHubClient,
        github_double: GitHubDouble) -> None:
    # Adopted before only flakegate's own comments counted: editing it is refused (403).
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    planted = github_double.state.plant_comment(REPO, 12, FAKE, login="mallory")
    store.github.put_publication(Publication(REPO, "comment:12", "old", int(planted["id"])))
    result = publish(store, github)
    assert [o.action for o in result.outcomes if o.target == "comment:12"] == ["created"]
    planted_after, ours = github_double.state.comments_on(REPO, 12)
    assert planted_after["body"] == FAKE and ours["body"].startswith(MARKER)
    assert store.github.publications(REPO, ["comment:12"])["comment:12"].remote_id == ours["id"]
    put_run(api, E2E, "9001-10", payload=SHA, status="success", outcomes={"test-000": "passed"})
    publish(store, github)  # the new one is edited from now on
    assert len(github_double.state.comments_on(REPO, 12)) == 2
    assert len(github_double.calls("issues/create-comment")) == 1


@pytest.fixture
def app_double() -> Iterator[tuple[GitHubDouble, str]]:
    pem, public = make_app_key()
    double = GitHubDouble(token=None, app_id="4242", app_public_key=public).start()
    double.state.install(REPO, 77)
    yield double, pem
    double.stop()
    assert not double.violations, double.violations


def test_an_app_finds_only_comments_made_through_itself(
        api: ApiClient, store: Store, app_double: tuple[GitHubDouble, str]) -> None:
    double, pem = app_double
    github = GitHubClient(double.api_url, AppAuth("4242", pem), sleep=Sleeps())
    build(api, store)
    double.state.add_pull(REPO, SHA, 12)
    double.state.plant_comment(REPO, 12, FAKE, login="mallory")
    double.state.plant_comment(REPO, 12, FAKE, login="other-app[bot]", app_id=99)
    publish(store, github)
    *planted, ours = map(dict, double.state.comments_on(REPO, 12))
    assert [c["body"] for c in planted] == [FAKE, FAKE]
    assert ours["performed_via_github_app"]["id"] == 4242
    # Its id lost, the App's comment is found again by the marker AND the App, and edited.
    with store.db.write() as tx:  # type: ignore[attr-defined]
        tx.conn.execute("DELETE FROM github_publications")
    put_run(api, E2E, "9001-10", payload=SHA, status="success", outcomes={"test-000": "passed"})
    publish(store, github)
    *planted, edited = double.state.comments_on(REPO, 12)
    assert [c["body"] for c in planted] == [FAKE, FAKE]
    assert edited["id"] == ours["id"] and edited["body"] != ours["body"]
    assert len(double.calls("issues/create-comment")) == 1


def test_a_publisher_whose_lease_was_taken_mid_publish_creates_nothing(
        api: ApiClient, store: Store, github_double: GitHubDouble,
        database_url: str) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    assert github_double.token is not None

    def slow(seconds: float) -> None:
        # The status was rate limited: while this publisher waits, its 50 ms lease expires
        # and another publisher takes it (and is about to create the comment and check run).
        import time
        time.sleep(0.2)
        other = open_store(database_url)
        try:
            assert other.acquire_lease(LEASE, "another publisher", 300)
        finally:
            other.close()

    github = GitHubClient(github_double.api_url, TokenAuth(github_double.token), sleep=slow)
    github_double.fail_next(operation_id="repos/create-commit-status", retry_after=1)
    with pytest.raises(PublishIncomplete) as raised:
        publish_payload(store, github, SHA, public_url=PUBLIC, lease_ttl=0.05)
    assert "taken by another publisher" in str(raised.value)
    assert not github_double.calls("checks/create")
    assert not github_double.calls("issues/create-comment")
    assert store.acquire_lease(LEASE, "probe", 1) is False  # not released: it was not ours

    store.release_lease(LEASE, "another publisher")
    publish(store, github)
    assert len(github_double.state.check_runs) == 1
    assert len(github_double.state.comments_on(REPO, 12)) == 1


def test_a_lease_renewed_in_time_keeps_publishing(
        api: ApiClient, store: Store, github_double: GitHubDouble) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    assert github_double.token is not None
    renewals: list[float] = []
    original = store.acquire_lease

    def counted(name: str, holder: str, ttl_s: float) -> bool:
        renewals.append(ttl_s)
        return original(name, holder, ttl_s)

    store.acquire_lease = counted  # type: ignore[method-assign]
    github = GitHubClient(github_double.api_url, TokenAuth(github_double.token), sleep=Sleeps())
    result = publish_payload(store, github, SHA, public_url=PUBLIC, lease_ttl=30)
    assert result.writes == 3
    assert len(renewals) == 4  # taken, then renewed before the status, check run and comment
