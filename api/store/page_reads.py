"""The store part for the reads behind the pages (issue 15): recent payloads, and one test's
history addressed by its key (:func:`api.pages_urls.key_for_test`).

Contract (``tests/store/test_contract_page_reads.py`` runs it on every backend):

* ``recent_payloads`` pages every payload the store knows (registered with ``put_payload`` or
  named by at least one run) newest first: a payload's ``first_seen`` is the earliest of its
  registration's and its runs' creation, ties broken by id (descending). ``registered`` says
  whether a registration exists. A deleted registration or run stops counting at once.
* ``find_test(job, key)`` resolves a key to the test ``(suite, name)`` when the job has a
  stored result of that test in at least one of its runs; otherwise ``None`` (an unknown job,
  a key of another job's test, a malformed key).
* ``test_history(job, key)`` pages the job's runs holding a result of that test, newest-created
  first (ties by run id, descending), whatever the run's status, with the test's outcome in
  each: status, duration, message as stored. An unresolvable key gives an empty page.
* ``baseline_record(job, version, suite, name)`` is that version's record of one test, as
  ``Store.baseline_tests`` holds it, or ``None`` (no such version, job or test): one lookup,
  where the test page would otherwise read every record of the version.
* Pages follow the store's rules: ``limit`` at least 1, ``cursor`` the previous page's
  ``next_cursor`` (``None`` on the last), a malformed or foreign cursor raises
  :class:`~api.store.base.InvalidCursor`.
* Cost: ``test_history`` reads only the job's runs and that test's results (never a whole
  run's tests), so 1,000 runs of a 5,000-test job answer in milliseconds on SQLite.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime

from api.domain import Page, RunStatus, TestStatus
from api.stats.types import TestBaseline


@dataclass(frozen=True, slots=True)
class PayloadSeen:
    """A payload as the recent-payloads list knows it (its verdict is the service's)."""

    id: str
    first_seen: datetime
    registered: bool


@dataclass(frozen=True, slots=True)
class TestRef:
    """A test of a job, named by its key."""

    __test__ = False  # not a pytest test class

    key: str
    suite: str
    name: str


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One run's result of one test."""

    __test__ = False  # not a pytest test class

    run_id: str
    payload: str | None
    created_at: datetime  # the run's creation
    run_status: RunStatus
    status: TestStatus
    duration_s: float | None
    message: str | None


class PageReads(abc.ABC):
    """The pages' reads; see the module docstring for the contract."""

    @abc.abstractmethod
    def recent_payloads(self, *, limit: int, cursor: str | None = None) -> Page:
        """A page of :class:`PayloadSeen`, newest ``first_seen`` first."""

    @abc.abstractmethod
    def find_test(self, job: str, key: str) -> TestRef | None:
        """The job's test with this key, or ``None``."""

    @abc.abstractmethod
    def test_history(self, job: str, key: str, *, limit: int,
                     cursor: str | None = None) -> Page:
        """A page of :class:`TestOutcome` of the test in the job's runs, newest first."""

    @abc.abstractmethod
    def baseline_record(self, job: str, version: int, suite: str,
                        name: str) -> TestBaseline | None:
        """One test's record in a baseline version of the job, or ``None``."""
