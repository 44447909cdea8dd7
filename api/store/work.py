"""The store part for durable background work (issue 14): a queue every server worker shares.

A webhook is acknowledged once its delivery is queued here, and processed later by whichever
worker claims it; a publication of a payload's verdict is queued here by every write that may
change that verdict. Items survive restarts and crashes: that is the point of the queue.

Contract (``tests/store/test_contract_work.py`` runs it on every backend):

* **Identity.** An item has a store-made ``id`` (opaque text), a ``kind`` (what handles it) and
  a ``key`` (what makes two items the same work).
* **Dedupe.** ``enqueue`` with a ``(kind, key)`` that already has a *waiting* item (queued and
  not currently claimed) adds nothing: it returns that item (``created`` False), moving its
  ``not_before`` earlier when the new one is earlier. With ``once=True`` any item of that
  ``(kind, key)`` ever stored (queued, claimed, done or dead) blocks the new one: a webhook
  delivery is worked at most once however often GitHub redelivers it. An item being worked on
  (claimed, lease unexpired) does not block a non-``once`` enqueue: the write that enqueues
  may have come after the worker read what it publishes, so one more item is due.
* **Claim.** ``claim`` takes atomically, across processes, one due item (queued, ``not_before``
  passed, no unexpired lease), oldest ``not_before`` first, skipping keys that have another
  item under an unexpired lease (one worker at a time per key); it stamps ``holder``, a lease of
  ``lease_s`` seconds, and counts the attempt (``attempts`` + 1: a worker that crashes while
  holding it has spent an attempt). An item whose lease expired is due again.
* **Finish.** ``complete`` marks the holder's item ``done``; ``fail`` records the error and
  either queues it again at ``retry_at`` (lease cleared) or, with ``retry_at=None``, marks it
  ``dead`` (kept for admins to see). Both return False and change nothing when ``holder`` no
  longer holds the item (its lease expired and another worker took it).
* **Reads.** ``get_work`` by id (None when unknown); ``list_work`` pages newest-created first,
  filtered by ``state`` and ``kind``. ``purge_work`` deletes ``done`` and ``dead`` items of a
  kind finished before a time, and returns how many.
* Times are timezone-aware in, UTC out. ``body`` is text the caller chose (JSON, usually).
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from datetime import datetime

from api.domain import Page


class WorkState(enum.StrEnum):
    QUEUED = "queued"  # waiting, or claimed (see ``holder``/``lease_until``)
    DONE = "done"
    DEAD = "dead"  # failed for good: attempts spent, or a failure retrying cannot fix


@dataclass(frozen=True, slots=True)
class WorkItem:
    id: str
    kind: str
    key: str
    body: str
    state: WorkState
    attempts: int
    not_before: datetime
    holder: str | None
    lease_until: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Enqueued:
    item: WorkItem
    created: bool  # False: an item already stood for this work (see the dedupe rule)


class WorkQueue(abc.ABC):
    """Durable background work; see the module docstring for the contract."""

    @abc.abstractmethod
    def enqueue(self, kind: str, key: str, body: str, *, not_before: datetime | None = None,
                once: bool = False) -> Enqueued:
        """Queue work due at ``not_before`` (default now), unless the dedupe rule finds it."""

    @abc.abstractmethod
    def claim(self, holder: str, lease_s: float, *,
              kinds: tuple[str, ...] | None = None) -> WorkItem | None:
        """Take one due item (of ``kinds``, default any) for ``holder``; None when none."""

    @abc.abstractmethod
    def complete(self, item_id: str, holder: str) -> bool:
        """Mark the holder's item done."""

    @abc.abstractmethod
    def fail(self, item_id: str, holder: str, error: str, *,
             retry_at: datetime | None) -> bool:
        """Record ``error``; queue the item again at ``retry_at``, or mark it dead (None)."""

    @abc.abstractmethod
    def get_work(self, item_id: str) -> WorkItem | None: ...

    @abc.abstractmethod
    def list_work(self, *, state: WorkState | None = None, kind: str | None = None,
                  limit: int, cursor: str | None = None) -> Page:
        """A page of :class:`WorkItem`, newest-created first."""

    @abc.abstractmethod
    def purge_work(self, kind: str, before: datetime) -> int:
        """Delete the kind's done and dead items last updated before ``before``."""
