"""A job's tests and one test's history, as the pages and their JSON twins read them.

One home for each read (the pages under ``/ui/jobs/...`` call these too):

* :func:`job_tests`: the current baseline's tests with their stability (pass rate, runs,
  failures, flaky share) and their key, least stable first (or by name), filtered by a name
  substring, paged with an offset cursor. A job without a baseline has no tests to show yet
  (an empty page and ``baseline=None``), which the page explains; an unknown job is a 404.
* :func:`test_history`: one test's outcomes across the job's runs, newest first, resolved from
  its key (:func:`api.pages_urls.key_for_test`); an unknown key is a 404.

Flask-free; the store does the paging of the history, the baseline is small enough (thousands
of records) to sort and filter here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from api.domain import Page
from api.pages_urls import key_for_test
from api.services.catalog import get_job
from api.stats.types import TestBaseline
from api.store import BaselineVersion, NotFound, Store
from api.store.cursor import decode_offset, encode_offset
from api.store.page_reads import TestRef


class TestOrder(enum.StrEnum):
    __test__ = False  # not a pytest test class

    LEAST_STABLE = "least_stable"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class TestStability:
    """One test of a baseline version, as the pages show it."""

    __test__ = False  # not a pytest test class

    key: str
    suite: str
    name: str
    runs: int
    passes: int
    failures: int
    flakes: int
    pass_rate: float  # what the policies judge against (latched rates included)
    observed_pass_rate: float  # what the window saw
    flaky_share: float  # flakes / runs: how often a retry hid a failure
    latched: bool

    @classmethod
    def of(cls, record: TestBaseline) -> TestStability:
        return cls(key=key_for_test(record.suite, record.name), suite=record.suite,
                   name=record.name, runs=record.runs, passes=record.passes,
                   failures=record.failures, flakes=record.flakes, pass_rate=record.pass_rate,
                   observed_pass_rate=_observed(record),
                   flaky_share=record.flakes / record.runs if record.runs else 0.0,
                   latched=record.latched)


def _observed(record: TestBaseline) -> float:
    return record.pass_rate if record.observed_pass_rate is None else record.observed_pass_rate


def _least_stable(record: TestBaseline) -> tuple[float, float, int, str, str]:
    # What the window saw (a latched rate hides a worsening), then the flakier, then the one
    # with more failures; names settle ties so pages never reshuffle.
    flaky = record.flakes / record.runs if record.runs else 0.0
    return (_observed(record), -flaky, -record.failures, record.suite, record.name)


def job_tests(store: Store, job: str, *, order: TestOrder = TestOrder.LEAST_STABLE,
              contains: str | None = None, limit: int,
              cursor: str | None = None) -> tuple[BaselineVersion | None, Page]:
    """The current baseline and a page of its tests; ``contains`` matches suite or name,
    ignoring case."""
    get_job(store, job)
    start = decode_offset(cursor)
    baseline = store.get_baseline(job)
    if baseline is None:
        return None, Page((), None)
    records = store.baseline_tests(job, baseline.version)
    if contains:
        needle = contains.casefold()
        records = [r for r in records
                   if needle in r.name.casefold() or needle in r.suite.casefold()]
    if order is TestOrder.LEAST_STABLE:
        # The keys (a SHA-256 each) are computed for the page only, after the sort.
        records.sort(key=_least_stable)
    else:
        records.sort(key=lambda r: (r.suite, r.name))
    end = start + limit
    return baseline, Page(tuple(TestStability.of(r) for r in records[start:end]),
                          encode_offset(end) if end < len(records) else None)


def find_test(store: Store, job: str, key: str) -> TestRef:
    """The job's test with this key; an unknown job or key raises :class:`NotFound`."""
    get_job(store, job)
    found = store.page_reads.find_test(job, key)
    if found is None:
        raise NotFound(f"job {job!r} has no test with key {key!r}")
    return found


def test_history(store: Store, job: str, key: str, *, limit: int,
                 cursor: str | None = None) -> tuple[TestRef, Page]:
    """The test and a page of its :class:`~api.store.page_reads.TestOutcome`, newest first."""
    test = find_test(store, job, key)
    return test, store.page_reads.test_history(job, key, limit=limit, cursor=cursor)
