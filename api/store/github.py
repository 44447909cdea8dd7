"""The store part for what flakegate published on GitHub (issue 14): per repository and
*target* (one commit status, one check run, one pull-request comment), the digest of the body
last written there and GitHub's id of the object, so that publishing again with the same
verdict writes nothing and a check run or comment is edited, never created twice.

The contract (``tests/store/test_contract_github.py`` runs it against every backend):

* A publication is keyed by ``(repository, target)``; ``target`` is an opaque string of at
  most :data:`MAX_TARGET` characters built by :mod:`api.github.publish` (e.g.
  ``status:<sha>:<context>``, ``check:<sha>``, ``comment:<pull number>``).
* ``put_publication`` upserts: the last write of a key wins whole (digest and remote id; a
  ``remote_id`` of None is stored as None); the store sets ``updated_at``.
* ``publications(repository, targets)`` returns, in one read, those of ``targets`` that were
  written (missing ones are absent from the map); other repositories' are never returned.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_TARGET = 200
MAX_REPOSITORY = 140  # "owner/name": GitHub's limits are 39 and 100 characters


@dataclass(frozen=True, slots=True)
class Publication:
    repository: str
    target: str
    digest: str  # sha256 hex of the body last written to GitHub
    remote_id: int | None = None  # the check run's or comment's id on GitHub
    updated_at: datetime | None = None  # set by the store


class GitHubStore(abc.ABC):
    @abc.abstractmethod
    def publications(self, repository: str, targets: Sequence[str]) -> dict[str, Publication]:
        """The stored publications of ``repository`` among ``targets``, by target."""

    @abc.abstractmethod
    def put_publication(self, publication: Publication) -> Publication:
        """Record (insert or replace) one publication; returns it as stored."""


def check_key(repository: str, target: str) -> None:
    if not 0 < len(repository) <= MAX_REPOSITORY or not 0 < len(target) <= MAX_TARGET:
        raise ValueError(f"publication key too long or empty: {repository!r}, {target!r}")
