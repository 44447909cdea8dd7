"""The Action's poster (client/github_publish.py) against the validating GitHub double: only a
marked comment by ``comment-author`` is flakegate's, anyone else's is neither edited nor
adopted, and a comment GitHub refuses to let it edit is replaced instead of failing forever."""

from __future__ import annotations

from client.github_publish import GitHubPoster
from tests.github_double import GitHubDouble, Sleeps

REPO = "acme/widgets"
MARKER = "<!-- flakegate:verdict -->"
FAKE = f"{MARKER}\n### ✅ flakegate: passed"


def poster(double: GitHubDouble, **more: str) -> GitHubPoster:
    return GitHubPoster(double.api_url, str(double.token), REPO, sleep=Sleeps(), **more)


def test_a_planted_marker_comment_is_neither_edited_nor_adopted(
        github_double: GitHubDouble) -> None:
    github_double.state.plant_comment(REPO, 7, FAKE, login="mallory")
    post = poster(github_double)
    assert post.post_comment(7, MARKER, f"{MARKER}\nblocked") == "created"
    planted, ours = github_double.state.comments_on(REPO, 7)
    assert planted["body"] == FAKE and ours["user"]["login"] == "github-actions[bot]"
    assert post.post_comment(7, MARKER, f"{MARKER}\nblocked") == "unchanged"
    assert post.post_comment(7, MARKER, f"{MARKER}\nblocked, again") == "updated"
    planted, edited = github_double.state.comments_on(REPO, 7)
    assert planted["body"] == FAKE
    assert (edited["id"], edited["body"]) == (ours["id"], f"{MARKER}\nblocked, again")
    assert not github_double.calls("issues/update-comment")[0].path.endswith(
        f"/{planted['id']}")
    assert len(github_double.calls("issues/create-comment")) == 1


def test_a_marked_comment_it_may_not_edit_is_replaced(github_double: GitHubDouble) -> None:
    # comment-author names a login the token does not write as: GitHub refuses the edit.
    github_double.state.plant_comment(REPO, 7, FAKE, login="flakegate-bot")
    post = poster(github_double, author="flakegate-bot")
    assert post.post_comment(7, MARKER, f"{MARKER}\nblocked") == "created"
    planted, made = github_double.state.comments_on(REPO, 7)
    assert planted["body"] == FAKE and made["body"] == f"{MARKER}\nblocked"
