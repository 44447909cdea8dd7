"""The store part for known breakages (SPEC §10), and the failed runs a classification reads.

Breakages are declared, listed and resolved, never deleted.

Contract (``tests/store/test_contract_breakages.py`` runs it on every backend):

* ``add_breakage`` assigns the next id (1, 2, ... per database, never reused) and returns the
  breakage as stored; ``started`` defaults to now. It is ongoing until resolved.
* ``resolve_breakage`` sets the resolution (the commit or payload that fixed it), when and by
  whom, once: resolving a resolved breakage raises :class:`BreakageResolved` and changes
  nothing. An unknown id raises :class:`~api.store.base.NotFound`.
* ``list_breakages`` pages newest (highest id) first; ``ongoing`` filters by state and ``job``
  keeps breakages naming that job or naming none (a breakage without jobs covers every job).
* ``ongoing_breakages`` returns every ongoing breakage in one read (classification reads it
  once per payload).
* Breakages are few (people declare them), so the job filter may be applied after the read.
* Times are timezone-aware in, UTC out; ``jobs`` keep the order given, without duplicates.
* ``failed_runs`` lists ``failure`` runs (never ``error``, ``aborted`` or ``pending``: those
  are not failures to explain), newest first by start (creation when never started), ties by
  job then run id, filtered by payload, job and start; each says whether the same job has a
  ``success`` run of the same payload (empirical flakiness). One read, whatever the jobs.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from api.domain import Page
from api.failures.model import Breakage
from api.store.base import StoreError


class BreakageResolved(StoreError):
    """The breakage is already resolved (a resolution is never overwritten)."""


@dataclass(frozen=True, slots=True)
class FailedRun:
    """A ``failure`` run to classify."""

    job: str
    run_id: str
    payload: str | None
    at: datetime  # started, or created when never started
    passed_on_payload: bool  # the same job has a success run of the same (non-null) payload


class BreakageStore(abc.ABC):
    """Known breakages; see the module docstring for the contract."""

    @abc.abstractmethod
    def add_breakage(self, *, cause: str, jobs: Sequence[str], pattern_id: int | None,
                     notes: str, actor: str, started: datetime | None = None) -> Breakage:
        """Declare an ongoing breakage; returns it with its new id."""

    @abc.abstractmethod
    def get_breakage(self, breakage_id: int) -> Breakage:
        """The breakage; raises :class:`~api.store.base.NotFound`."""

    @abc.abstractmethod
    def resolve_breakage(self, breakage_id: int, *, resolution: str, actor: str,
                         at: datetime) -> Breakage:
        """Resolve it with ``resolution`` (a commit or payload) at ``at``; returns it.

        Raises :class:`~api.store.base.NotFound` or :class:`BreakageResolved`."""

    @abc.abstractmethod
    def list_breakages(self, *, ongoing: bool | None = None, job: str | None = None,
                       limit: int, cursor: str | None = None) -> Page:
        """A page of :class:`Breakage`, newest first."""

    @abc.abstractmethod
    def ongoing_breakages(self) -> list[Breakage]:
        """Every ongoing breakage, newest first, in one read."""

    @abc.abstractmethod
    def failed_runs(self, *, payload: str | None = None, job: str | None = None,
                    since: datetime | None = None, limit: int) -> list[FailedRun]:
        """At most ``limit`` failure runs, newest first (see the module docstring)."""


def unique_jobs(jobs: Sequence[str]) -> tuple[str, ...]:
    """``jobs`` in their order, each once (backends store this)."""
    return tuple(dict.fromkeys(jobs))


def covers(breakage: Breakage, job: str | None) -> bool:
    """Whether the ``job`` filter of ``list_breakages`` keeps ``breakage``."""
    return job is None or not breakage.jobs or job in breakage.jobs
