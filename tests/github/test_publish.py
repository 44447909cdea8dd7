"""Publishing verdicts on GitHub, against the validating GitHub double: one status, one check
run, one comment; edits in place; no write when nothing changed; rate limits; hostile names."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from markdown_it import MarkdownIt

from api.github.auth import TokenAuth
from api.github.client import GitHubClient
from api.github.comment import MARKER, cut_bytes
from api.github.publish import PublishIncomplete, publish_payload
from api.store import Store, open_store
from tests.conftest import ApiClient
from tests.github_double import GitHubDouble, Sleeps
from tests.github_scenario import E2E, REPO, SHA, build, put_run

PUBLIC = "https://flakegate.example"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def github(github_double: GitHubDouble, sleeps: Sleeps) -> GitHubClient:
    assert github_double.token is not None
    return GitHubClient(github_double.api_url, TokenAuth(github_double.token), sleep=sleeps)


def publish(store: Store, github: GitHubClient):
    return publish_payload(store, github, SHA, public_url=PUBLIC)


def test_a_payload_gets_one_status_one_check_run_and_one_comment(
        api: ApiClient, store: Store, github: GitHubClient,
        github_double: GitHubDouble) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    result = publish(store, github)
    assert result.verdict == "fail"
    assert sorted(o.action for o in result.outcomes) == ["created", "created", "updated"]

    statuses = github_double.state.statuses[(REPO, SHA)]
    assert len(statuses) == 1
    status = statuses[0]
    assert (status["context"], status["state"]) == ("flakegate", "failure")
    assert status["target_url"] == f"{PUBLIC}/ui/payloads/{SHA}"
    assert len(status["description"]) <= 140
    assert status["description"] == ("Blocked: 2 regressions · 1/4 flaky · 1/4 infra · "
                                     "1/4 known · 1/4 new")

    [check] = github_double.state.check_runs.values()
    assert (check["name"], check["status"], check["conclusion"]) == ("flakegate", "completed",
                                                                     "failure")
    assert check["output"]["title"] == status["description"]
    assert check["head_sha"] == SHA and check["details_url"] == status["target_url"]
    annotations = github_double.state.annotations[check["id"]]
    assert len(annotations) == 6  # two regressions (e2e, lint) and the four failed runs
    assert {a["annotation_level"] for a in annotations} == {"failure", "warning", "notice"}

    [comment] = github_double.state.comments_on(REPO, 12)
    body = comment["body"]
    assert body.startswith(MARKER)
    for heading in ("#### Regressions (2)", "#### New failures (1)", "#### Flaky (1)",
                    "#### Known breakages (1)", "#### Infra (1)"):
        assert heading in body
    assert "`read tcp 10.0.0.3:443: connection reset by peer`" in body
    assert f"({PUBLIC}/ui/jobs/octo-org%2Fwidgets%2FCI%2Fe2e/runs/9001-0/log#L41)" in body
    assert "breakage #1" in body


def test_unchanged_verdict_writes_nothing(api: ApiClient, store: Store, github: GitHubClient,
                                          github_double: GitHubDouble) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    publish(store, github)
    writes = len(github_double.calls(writes_only=True))
    again = publish(store, github)
    assert again.writes == 0 and {o.action for o in again.outcomes} == {"unchanged"}
    assert len(github_double.calls(writes_only=True)) == writes


def test_a_later_run_edits_the_same_comment_and_check_run(
        api: ApiClient, store: Store, github: GitHubClient,
        github_double: GitHubDouble) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    publish(store, github)
    [first] = github_double.state.comments_on(REPO, 12)
    first_body = first["body"]
    put_run(api, E2E, "9001-10", payload=SHA, status="success", outcomes={"test-000": "passed"})
    publish(store, github)
    [edited] = github_double.state.comments_on(REPO, 12)
    assert edited["id"] == first["id"] and edited["body"] != first_body
    assert len(github_double.state.check_runs) == 1
    assert len(github_double.calls("issues/create-comment")) == 1
    assert len(github_double.calls("issues/update-comment")) == 1
    assert len(github_double.state.statuses[(REPO, SHA)]) == 1  # the status did not change


def test_a_comment_is_found_by_its_marker_when_its_id_was_lost(
        api: ApiClient, store: Store, github: GitHubClient, github_double: GitHubDouble,
        database_url: str, tmp_path) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    publish(store, github)
    # Another flakegate store (a restored backup) publishing to the same pull request. It knows
    # the token's login from an earlier comment: only that login's marked comment is adopted
    # (tests/github/test_publish_ownership.py).
    with store.db.write() as tx:  # type: ignore[attr-defined]
        tx.conn.execute("DELETE FROM github_publications WHERE target != 'comment-author'")
    put_run(api, E2E, "9001-10", payload=SHA, status="success", outcomes={"test-000": "passed"})
    publish(store, github)
    assert len(github_double.state.comments_on(REPO, 12)) == 1
    assert len(github_double.state.check_runs) == 1
    assert len(github_double.calls("issues/create-comment")) == 1
    assert len(github_double.calls("checks/create")) == 1


def test_rate_limited_answers_are_waited_and_publishing_succeeds(
        api: ApiClient, store: Store, github: GitHubClient, github_double: GitHubDouble,
        sleeps: Sleeps) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    github_double.fail_next(status=429, retry_after=5, operation_id="repos/create-commit-status")
    github_double.fail_next(status=403, retry_after=None, reset_in=20,
                            operation_id="issues/create-comment",
                            message="API rate limit exceeded for user ID 1.")
    result = publish(store, github)
    assert {o.action for o in result.outcomes} == {"created", "updated"}
    assert sleeps.waits[0] == 5 and 20 <= sleeps.waits[1] <= 22
    assert len(github_double.state.comments_on(REPO, 12)) == 1
    # The refused creation was looked up (nothing there) before it was made again.
    assert [c.operation_id for c in github_double.calls()
            if c.operation_id in ("issues/create-comment", "issues/list-comments")] == [
        "issues/list-comments", "issues/create-comment", "issues/list-comments",
        "issues/create-comment"]


def test_a_rate_limit_beyond_the_bound_leaves_it_to_a_later_publish(
        api: ApiClient, store: Store, github_double: GitHubDouble, sleeps: Sleeps) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    assert github_double.token is not None
    patient = GitHubClient(github_double.api_url, TokenAuth(github_double.token),
                           sleep=sleeps, max_wait=10)
    github_double.fail_next(status=429, retry_after=60, operation_id="checks/create")
    with pytest.raises(PublishIncomplete) as caught:
        publish_payload(store, patient, SHA, public_url=PUBLIC)
    assert caught.value.retry_after == 60
    assert {o.action for o in caught.value.result.outcomes} == {"updated", "created", "failed"}
    result = publish_payload(store, patient, SHA, public_url=PUBLIC)
    assert [o.action for o in result.outcomes] == ["unchanged", "created", "unchanged"]
    assert len(github_double.state.check_runs) == 1


def test_hostile_names_are_neutralised(api: ApiClient, store: Store, github: GitHubClient,
                                       github_double: GitHubDouble) -> None:
    job = "octo-org/widgets/CI/e2e <img src=x> @admin"
    test = "test-007 [click](https://evil.example) **bold** | #1 <script>"
    build(api, store, e2e=job, regressed=test)
    github_double.state.add_pull(REPO, SHA, 12)
    publish(store, github)
    [comment] = github_double.state.comments_on(REPO, 12)
    body = comment["body"]
    unescaped = re.compile(r"(?<!\\)(<img|<script|\[click\]|\*\*bold)")
    assert unescaped.search(body) is None
    assert "@admin" not in body  # a word joiner keeps GitHub from mentioning anyone
    assert r"\[click\]" in body and r"\*\*bold\*\*" in body and r"\|" in body
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(body)
    assert "<img" not in html and "<script" not in html and 'href="https://evil' not in html
    assert html.count("<strong>") == 1 and html.count("<table>") == 2  # ours only


def test_a_commit_that_is_not_the_pull_requests_head_gets_no_comment(
        api: ApiClient, store: Store, github: GitHubClient,
        github_double: GitHubDouble) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    github_double.state.pull_heads[(REPO, 12)] = "6" * 40  # pushed since
    result = publish(store, github)
    assert [o.action for o in result.outcomes if o.target == "comment:12"] == ["skipped"]
    assert github_double.state.comments_on(REPO, 12) == []


def test_runs_without_a_github_repository_publish_nothing(
        api: ApiClient, store: Store, github: GitHubClient,
        github_double: GitHubDouble) -> None:
    put_run(api, "plain", "r1", payload=SHA, status="success", outcomes={"t": "passed"},
            repository="not a repository")
    result = publish(store, github)
    assert result.outcomes == () and "names a GitHub repository" in result.reason
    assert github_double.calls() == []


def test_more_than_fifty_annotations_go_in_batches(api: ApiClient, store: Store,
                                                   github: GitHubClient,
                                                   github_double: GitHubDouble) -> None:
    lint = "octo-org/widgets/CI/lint"
    for index in range(60):
        put_run(api, lint, f"L{index}", payload=SHA, status="failure",
                outcomes={"test-000": "failed"})
    publish(store, github)
    [check] = github_double.state.check_runs.values()
    sent = [len(c.body["output"]["annotations"]) for c in github_double.calls()
            if c.operation_id in ("checks/create", "checks/update")]
    assert sent == [50, 11]  # 60 failed runs and the regression; GitHub takes 50 a request
    assert len(github_double.state.annotations[check["id"]]) == 61
    # Annotations accumulate on GitHub: a later update does not send them again.
    put_run(api, lint, "L60", payload=SHA, status="success", outcomes={"test-000": "passed"})
    publish(store, github)
    assert len(github_double.state.annotations[check["id"]]) == 61


def test_jobs_naming_another_context_get_their_own_status(
        api: ApiClient, store: Store, github: GitHubClient,
        github_double: GitHubDouble) -> None:
    build(api, store)
    changed = api.put("/jobs/" + quote("octo-org/widgets/CI/lint", safe=""),
                      json={"settings": {"github_context": "flakegate/lint"}})
    assert changed.status_code == 200, changed.json
    publish(store, github)
    states = {s["context"]: s["state"] for s in github_double.state.statuses[(REPO, SHA)]}
    assert states == {"flakegate": "failure", "flakegate/lint": "failure"}
    bad = api.put("/jobs/" + quote("octo-org/widgets/CI/lint", safe=""),
                  json={"settings": {"github_context": "a\nb"}})
    assert bad.status_code == 422
    assert "github_context" in str(bad.json)


def test_summaries_are_cut_within_githubs_limit() -> None:
    text = "\n".join(f"- line {i} ✅" for i in range(20_000))
    cut = cut_bytes(text, 65_535, "https://flakegate.example/ui/payloads/x")
    assert len(cut.encode()) <= 65_535
    assert cut.endswith("the rest is [on the page](https://flakegate.example/ui/payloads/x).")
    assert cut_bytes("short", 65_535, None) == "short"


def test_the_server_command_publishes_and_says_what_it_did(
        api: ApiClient, store: Store, github_double: GitHubDouble, database_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from client.cli import main

    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    for key in ("GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(f"FLAKEGATE_{key}", raising=False)
    monkeypatch.setenv("FLAKEGATE_GITHUB_API_URL", github_double.api_url)
    monkeypatch.setenv("FLAKEGATE_PUBLIC_URL", PUBLIC)
    monkeypatch.delenv("FLAKEGATE_GITHUB_TOKEN", raising=False)
    assert main(["github", "publish", SHA, "--db", database_url]) == 2
    assert "GitHub is not configured" in capsys.readouterr().err
    monkeypatch.setenv("FLAKEGATE_GITHUB_TOKEN", str(github_double.token))
    assert main(["github", "publish", SHA, "--db", database_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{REPO} status:{SHA}:flakegate: updated (failure)",
                   f"{REPO} check:{SHA}: created (failure)",
                   f"{REPO} comment:12: created"]
    assert main(["github", "publish", SHA, "--db", database_url]) == 0
    assert capsys.readouterr().out.count(": unchanged") == 3
    # GitHub failing every attempt (the first and its three repetitions) to list the PRs.
    github_double.fail_next(4, status=502, retry_after=None, message="Server Error",
                            operation_id="repos/list-pull-requests-associated-with-commit")
    assert main(["github", "publish", SHA, "--db", database_url]) == 1
    assert "not all published" in capsys.readouterr().err


def test_two_publishers_racing_make_one_comment_and_one_check_run(
        api: ApiClient, store: Store, github: GitHubClient, github_double: GitHubDouble,
        database_url: str) -> None:
    build(api, store)
    github_double.state.add_pull(REPO, SHA, 12)
    results: list[object] = []

    def publisher() -> None:
        handle = open_store(database_url)
        try:
            results.append(publish_payload(handle, github, SHA, public_url=PUBLIC))
        finally:
            handle.close()

    threads = [threading.Thread(target=publisher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2
    assert len(github_double.state.comments_on(REPO, 12)) == 1
    assert len(github_double.state.check_runs) == 1
    assert len(github_double.calls("issues/create-comment")) == 1


def test_a_runs_head_sha_is_where_its_payload_publishes(
        api: ApiClient, store: Store, github: GitHubClient,
        github_double: GitHubDouble) -> None:
    merge, head = "a" * 40, "b" * 40
    response = api.put("/jobs/unit/runs/1", json={
        "payload": merge, "status": "success",
        "metadata": {"ci": "github-actions", "repository": REPO, "head_sha": head},
        "tests": [{"name": "t", "suite": "s", "status": "passed"}]})
    assert response.status_code == 201, response.json
    github_double.state.add_pull(REPO, head, 4)
    result = publish_payload(store, github, merge, public_url=PUBLIC)
    assert {o.target for o in result.outcomes} == {f"status:{head}:flakegate", f"check:{head}",
                                                   "comment:4"}
    assert github_double.state.latest_status(REPO, head, "flakegate")["state"] == "success"
