"""Store contract of the GitHub publications part (api/store/github.py), on every backend."""

from __future__ import annotations

import pytest

from api.store import Store
from api.store.github import MAX_TARGET, Publication

REPO = "octo-org/widgets"
SHA = "c" * 40


def test_nothing_is_published_at_first(store: Store) -> None:
    assert store.github.publications(REPO, [f"status:{SHA}:flakegate", "comment:1"]) == {}
    assert store.github.publications(REPO, []) == {}


def test_a_publication_is_read_back_with_its_id(store: Store) -> None:
    stored = store.github.put_publication(Publication(REPO, "comment:7", "d1", 123456789012))
    assert stored.updated_at is not None
    found = store.github.publications(REPO, ["comment:7", "comment:8"])
    assert list(found) == ["comment:7"]
    got = found["comment:7"]
    assert (got.repository, got.target, got.digest, got.remote_id) == (REPO, "comment:7", "d1",
                                                                        123456789012)
    assert got.updated_at == stored.updated_at


def test_the_last_write_of_a_key_wins_whole(store: Store) -> None:
    store.github.put_publication(Publication(REPO, f"check:{SHA}", "d1", 5))
    store.github.put_publication(Publication(REPO, f"check:{SHA}", "d2", None))
    got = store.github.publications(REPO, [f"check:{SHA}"])[f"check:{SHA}"]
    assert (got.digest, got.remote_id) == ("d2", None)
    store.github.put_publication(Publication(REPO, f"check:{SHA}", "d3", 6))
    got = store.github.publications(REPO, [f"check:{SHA}"])[f"check:{SHA}"]
    assert (got.digest, got.remote_id) == ("d3", 6)


def test_repositories_and_targets_are_apart(store: Store) -> None:
    store.github.put_publication(Publication(REPO, "comment:1", "a"))
    store.github.put_publication(Publication("octo-org/gadgets", "comment:1", "b"))
    store.github.put_publication(Publication(REPO, "comment:2", "c"))
    mine = store.github.publications(REPO, ["comment:1", "comment:2", "comment:1"])
    assert {t: p.digest for t, p in mine.items()} == {"comment:1": "a", "comment:2": "c"}
    theirs = store.github.publications("octo-org/gadgets", ["comment:1", "comment:2"])
    assert {t: p.digest for t, p in theirs.items()} == {"comment:1": "b"}


def test_another_handle_sees_the_write(store: Store, open_handle) -> None:
    store.github.put_publication(Publication(REPO, "status:x:flakegate", "d"))
    other = open_handle()
    assert other.github.publications(REPO, ["status:x:flakegate"])["status:x:flakegate"].digest \
        == "d"


def test_keys_are_bounded(store: Store) -> None:
    store.github.put_publication(Publication(REPO, "t" * MAX_TARGET, "d"))
    assert store.github.publications(REPO, ["t" * MAX_TARGET])
    with pytest.raises(ValueError):
        store.github.put_publication(Publication(REPO, "t" * (MAX_TARGET + 1), "d"))
    with pytest.raises(ValueError):
        store.github.put_publication(Publication(REPO, "", "d"))
