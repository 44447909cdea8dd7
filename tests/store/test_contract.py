"""The store contract: every statement of ``api/store/base.py`` (module and method docstrings).

Written against the abstract :class:`api.store.Store` only, so that every backend listed in
``conftest.BACKENDS`` runs it unchanged. Sections follow the docstring's bullets, then the
methods in interface order.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.domain import (
    Job,
    JobSpec,
    JunitFile,
    Page,
    Payload,
    Run,
    RunCounts,
    RunSpec,
    RunStatus,
    Scope,
    TestResult,
    TestStatus,
    WriteOutcome,
    merge_status,
)
from api.store import AttachedFile, InvalidCursor, NotFound, RunFilter, Store

from .conftest import Opener

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
CEST = timezone(timedelta(hours=2), "CEST")

PASSED, FAILED, ERROR, SKIPPED, FLAKED = (
    TestStatus.PASSED,
    TestStatus.FAILED,
    TestStatus.ERROR,
    TestStatus.SKIPPED,
    TestStatus.FLAKED,
)

hypothesis_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- helpers ----------------------------------------------------------------------------------


def spec(job: str = "e2e", run_id: str = "1", **fields: object) -> RunSpec:
    fields.setdefault("status", RunStatus.SUCCESS)
    return RunSpec(job=job, run_id=run_id, **fields)  # type: ignore[arg-type]


def tr(
    name: str,
    status: TestStatus = PASSED,
    *,
    suite: str = "suite",
    duration_s: float | None = None,
    message: str | None = None,
) -> TestResult:
    return TestResult(name=name, suite=suite, status=status, duration_s=duration_s, message=message)


def junit(name: str, tests: Sequence[TestResult], salt: str = "") -> AttachedFile:
    """A file whose sha256 derives from its content, like a real upload's."""
    digest = hashlib.sha256(repr((name, list(tests), salt)).encode()).hexdigest()
    return AttachedFile(JunitFile(name=name, sha256=digest, tests=len(tests)), tuple(tests))


def by_key(tests: Sequence[TestResult]) -> list[TestResult]:
    return sorted(tests, key=lambda t: (t.suite, t.name))


def statuses(store: Store, job: str, run_id: str) -> dict[str, TestStatus]:
    return {t.name: t.status for t in store.get_run_tests(job, run_id)}


def every_page(fetch: Callable[[str | None], Page]) -> list[object]:
    items: list[object] = []
    cursor: str | None = None
    for _ in range(10_000):
        page = fetch(cursor)
        items += page.items
        if page.next_cursor is None:
            return items
        assert page.items, "a page before the last must not be empty"
        cursor = page.next_cursor
    raise AssertionError("pagination does not end")


def unique(prefix: str = "job") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def many_tests(n: int) -> list[TestResult]:
    cycle = [PASSED, SKIPPED, PASSED, FAILED, PASSED, ERROR, PASSED, FLAKED]
    return [
        tr(
            f"[It] test number {i} does something observable",
            cycle[i % len(cycle)],
            suite=f"suite {i % 3}",
            duration_s=(i % 1000) / 1000,
            message=f"boom {i}" if cycle[i % len(cycle)] in (FAILED, ERROR) else None,
        )
        for i in range(n)
    ]


# -- lifecycle: migrate, close, ping ----------------------------------------------------------


def test_migrate_is_idempotent_and_returns_the_version_in_force(store: Store) -> None:
    store.put_job(JobSpec("kept"))
    version = store.migrate()
    assert isinstance(version, int) and version >= 1
    assert store.migrate() == version
    assert store.get_job("kept") is not None, "a repeated migrate must not lose data"


def test_migrate_from_a_second_handle_is_a_no_op(store: Store, open_handle: Opener) -> None:
    version = store.migrate()
    store.put_run(spec(), [tr("a")])
    other = open_handle()
    assert other.migrate() == version
    assert other.get_run_tests("e2e", "1") == [tr("a")]


def test_ping_answers_on_a_healthy_store(store: Store) -> None:
    assert store.ping() is None


def test_close_keeps_what_was_written(store: Store, open_handle: Opener) -> None:
    store.put_run(spec(payload="p"), [tr("a", FAILED, message="why")])
    store.close()
    reopened = open_handle()
    run = reopened.get_run("e2e", "1")
    assert run is not None and run.counts.failed == 1
    assert reopened.get_run_tests("e2e", "1") == [tr("a", FAILED, message="why")]


# -- atomic writes ----------------------------------------------------------------------------


BAD_TESTS = [
    [tr("good"), TestResult(name="bad", suite="s", status="nonsense")],  # type: ignore[arg-type]
    [tr("good"), TestResult(name="bad", suite="s", status=PASSED, duration_s="x")],  # type: ignore[arg-type]
]


@pytest.mark.parametrize("bad", BAD_TESTS, ids=["status", "duration"])
def test_a_failed_put_run_leaves_no_run_and_no_job(store: Store, bad: list[TestResult]) -> None:
    with pytest.raises((ValueError, TypeError)):
        store.put_run(spec(job="new-job"), bad)
    assert store.get_run("new-job", "1") is None
    assert store.get_job("new-job") is None
    assert store.list_jobs(limit=10).items == ()


@pytest.mark.parametrize("bad", BAD_TESTS, ids=["status", "duration"])
def test_a_failed_put_run_changes_nothing_of_an_existing_run(
    store: Store, bad: list[TestResult]
) -> None:
    before, _ = store.put_run(spec(payload="p1"), [tr("a", FAILED)])
    with pytest.raises((ValueError, TypeError)):
        store.put_run(spec(payload="p2"), bad)
    assert store.get_run("e2e", "1") == before
    assert store.get_run_tests("e2e", "1") == [tr("a", FAILED)]


def test_a_failed_attach_attaches_none_of_the_files(store: Store) -> None:
    store.put_run(spec(), [tr("a")])
    good = junit("good.xml", [tr("a", FAILED)])
    bad = AttachedFile(
        JunitFile("bad.xml", "0" * 64, 1),
        (TestResult(name="x", suite="s", status="nonsense"),),  # type: ignore[arg-type]
    )
    with pytest.raises((ValueError, TypeError)):
        store.attach_junit("e2e", "1", [good, bad])
    run = store.get_run("e2e", "1")
    assert run is not None and run.files == ()
    assert statuses(store, "e2e", "1") == {"a": PASSED}
    _, added = store.attach_junit("e2e", "1", [good])
    assert added == (True,), "the failed call must not have recorded the good file"


def test_a_failed_put_job_creates_nothing(store: Store) -> None:
    with pytest.raises((TypeError, ValueError)):
        store.put_job(JobSpec("j", settings={"not json": object()}))
    assert store.get_job("j") is None


def test_a_failed_put_payload_stores_nothing(store: Store) -> None:
    with pytest.raises((TypeError, ValueError)):
        store.put_payload(Payload("p", expected={"job": "many"}))  # type: ignore[dict-item]
    assert store.get_payload("p") is None


# -- batched ----------------------------------------------------------------------------------


def test_a_run_of_7353_tests_is_stored_whole(store: Store) -> None:
    tests = many_tests(7353)
    run, outcome = store.put_run(spec(), tests)
    assert outcome is WriteOutcome.CREATED
    assert run.counts == RunCounts.of(tests)
    assert store.get_run_tests("e2e", "1") == by_key(tests)


def test_a_large_file_is_attached_whole(store: Store) -> None:
    store.put_run(spec(), [])
    tests = many_tests(3000)
    run, added = store.attach_junit("e2e", "1", [junit("big.xml", tests)])
    assert added == (True,)
    assert run.counts == RunCounts.of(tests)
    assert store.get_run_tests("e2e", "1") == by_key(tests)


# -- idempotent -------------------------------------------------------------------------------


def test_putting_the_same_job_twice_is_unchanged(store: Store) -> None:
    job_spec = JobSpec("j", variant={"arch": "arm64"}, policy="bayes", expected_runs=3)
    first, created = store.put_job(job_spec)
    second, unchanged = store.put_job(job_spec)
    assert (created, unchanged) == (WriteOutcome.CREATED, WriteOutcome.UNCHANGED)
    assert second == first
    assert store.get_job("j") == first


def test_putting_the_same_run_twice_is_unchanged(store: Store) -> None:
    run_spec = spec(payload="p", started_at=T0, metadata={"k": "v"}, variant={"a": "b"})
    tests = many_tests(50)
    first, created = store.put_run(run_spec, tests)
    second, unchanged = store.put_run(run_spec, tests)
    assert (created, unchanged) == (WriteOutcome.CREATED, WriteOutcome.UNCHANGED)
    assert second == first
    assert second.updated_at == first.updated_at
    assert store.get_run_tests("e2e", "1") == by_key(tests)


def test_the_same_tests_in_another_order_are_unchanged(store: Store) -> None:
    tests = many_tests(30)
    first, _ = store.put_run(spec(), tests)
    again, outcome = store.put_run(spec(), list(reversed(tests)))
    assert outcome is WriteOutcome.UNCHANGED
    assert again.updated_at == first.updated_at


CHANGES = {
    "status": tr("t", ERROR, duration_s=1.0, message="m"),
    "duration": tr("t", FAILED, duration_s=2.0, message="m"),
    "unknown duration": tr("t", FAILED, message="m"),
    "message": tr("t", FAILED, duration_s=1.0, message="other"),
    "no message": tr("t", FAILED, duration_s=1.0),
    "suite": tr("t", FAILED, suite="other", duration_s=1.0, message="m"),
}


@pytest.mark.parametrize("changed", CHANGES.values(), ids=CHANGES.keys())
def test_a_re_put_with_any_field_of_a_test_changed_is_updated(
    store: Store, changed: TestResult
) -> None:
    original = [tr("t", FAILED, duration_s=1.0, message="m"), tr("u", SKIPPED, message="s")]
    store.put_run(spec(), original)
    _, outcome = store.put_run(spec(), [changed, original[1]])
    assert outcome is WriteOutcome.UPDATED
    assert store.get_run_tests("e2e", "1") == by_key([changed, original[1]])


def test_a_run_without_tests_put_again_is_unchanged(store: Store) -> None:
    first, _ = store.put_run(spec())
    _, outcome = store.put_run(spec())
    assert outcome is WriteOutcome.UNCHANGED
    _, outcome = store.put_run(spec(), [])
    assert outcome is WriteOutcome.UNCHANGED, "no tests and an empty sequence are the same"
    run = store.get_run("e2e", "1")
    assert run is not None and run.updated_at == first.updated_at


def test_putting_the_same_payload_twice_is_unchanged(store: Store) -> None:
    payload = Payload("4.19.0-0.nightly", expected={"e2e-aws": 10, "e2e-gcp": 5}, deadline=T0)
    first, created = store.put_payload(payload)
    second, unchanged = store.put_payload(payload)
    assert (created, unchanged) == (WriteOutcome.CREATED, WriteOutcome.UNCHANGED)
    assert second == first


def test_attaching_the_same_file_again_changes_nothing(store: Store) -> None:
    store.put_run(spec(), [])
    file = junit("a.xml", [tr("a", FAILED, duration_s=1.5, message="no")])
    first, added = store.attach_junit("e2e", "1", [file])
    again, added_again = store.attach_junit("e2e", "1", [file])
    assert (added, added_again) == ((True,), (False,))
    assert again == first
    assert store.get_run_tests("e2e", "1") == [tr("a", FAILED, duration_s=1.5, message="no")]


def test_adding_the_same_token_twice_keeps_one_token(store: Store) -> None:
    store.add_token("h" * 64, Scope.WRITE, "ci")
    store.add_token("h" * 64, Scope.WRITE, "ci")
    assert getattr(store.find_token("h" * 64), "scope", None) is Scope.WRITE


def test_a_changed_write_moves_updated_at_and_keeps_created_at(store: Store) -> None:
    job, _ = store.put_job(JobSpec("j", policy="bayes"))
    job2, outcome = store.put_job(JobSpec("j", policy="stddev"))
    assert outcome is WriteOutcome.UPDATED
    assert job2.created_at == job.created_at and job2.updated_at > job.updated_at

    run, _ = store.put_run(spec(status=RunStatus.PENDING))
    run2, outcome = store.put_run(spec(status=RunStatus.SUCCESS))
    assert outcome is WriteOutcome.UPDATED
    assert run2.created_at == run.created_at and run2.updated_at > run.updated_at

    run3, outcome = store.put_run(spec(status=RunStatus.SUCCESS), [tr("a")])
    assert outcome is WriteOutcome.UPDATED and run3.updated_at > run2.updated_at

    run4, _ = store.attach_junit("e2e", "1", [junit("f.xml", [tr("b")])])
    assert run4.updated_at > run3.updated_at

    payload, _ = store.put_payload(Payload("p", expected={"j": 1}))
    payload2, outcome = store.put_payload(Payload("p", expected={"j": 2}))
    assert outcome is WriteOutcome.UPDATED
    assert payload2.created_at == payload.created_at
    assert payload2.updated_at is not None and payload.updated_at is not None
    assert payload2.updated_at > payload.updated_at


# -- identity ---------------------------------------------------------------------------------


JOB_NAMES = [
    "pull-kubernetes-e2e-gce",
    "periodic-ci-openshift-release-master-nightly-4.19-e2e-aws-ovn (upgrade)",
    "a/b/c with spaces/and slashes",
    "ümlaut \u2013 ✓ 日本語 🚀",
    "quotes ' \" and % and ? and # and &",
    "x" * 512,
    " leading and trailing spaces ",
]


@pytest.mark.parametrize("name", JOB_NAMES)
def test_a_job_is_its_name_whatever_printable_text(store: Store, name: str) -> None:
    job, _ = store.put_job(JobSpec(name, policy="bayes"))
    assert job.name == name
    assert store.get_job(name) == job
    assert [j.name for j in store.list_jobs(limit=5).items] == [name]  # type: ignore[attr-defined]
    store.put_run(spec(job=name, run_id=name))
    run = store.get_run(name, name)
    assert run is not None and (run.spec.job, run.spec.run_id) == (name, name)


def test_job_names_differing_only_in_case_or_spacing_are_distinct(store: Store) -> None:
    names = ["e2e", "E2E", "e2e ", " e2e"]
    for name in names:
        store.put_job(JobSpec(name))
    assert sorted(j.name for j in store.list_jobs(limit=10).items) == sorted(names)  # type: ignore[attr-defined]


def test_a_run_is_identified_by_job_and_run_id(store: Store) -> None:
    store.put_run(spec(job="a", run_id="1", payload="pa"), [tr("x", FAILED)])
    store.put_run(spec(job="b", run_id="1", payload="pb"), [tr("y")])
    run_a, run_b = store.get_run("a", "1"), store.get_run("b", "1")
    assert run_a is not None and run_b is not None
    assert (run_a.spec.payload, run_b.spec.payload) == ("pa", "pb")
    assert store.get_run_tests("a", "1") == [tr("x", FAILED)]
    assert store.get_run_tests("b", "1") == [tr("y")]
    assert store.get_run("a", "2") is None


def test_a_test_is_identified_by_suite_and_name(store: Store) -> None:
    tests = [tr("t", suite="s1"), tr("t", FAILED, suite="s2"), tr("t2", SKIPPED, suite="s1")]
    run, _ = store.put_run(spec(), tests)
    assert run.counts.total == 3
    assert store.get_run_tests("e2e", "1") == by_key(tests)


@pytest.mark.parametrize(
    ("first", "second"),
    list(itertools.product(TestStatus, repeat=2)),
    ids=lambda s: s.wire,
)
def test_a_run_holds_each_test_once_repeats_merge_like_retries(
    store: Store, first: TestStatus, second: TestStatus
) -> None:
    run, _ = store.put_run(spec(), [tr("t", first), tr("other"), tr("t", second)])
    stored = store.get_run_tests("e2e", "1")
    assert [t.name for t in stored] == ["other", "t"]
    assert stored[1].status is merge_status(first, second)
    assert run.counts == RunCounts.of(stored)


# -- runs create jobs -------------------------------------------------------------------------


def test_put_run_on_an_unknown_job_creates_it_with_defaults(store: Store) -> None:
    store.put_run(spec(job="fresh", variant={"platform": "aws"}))
    job = store.get_job("fresh")
    assert job is not None
    assert (job.variant, job.policy, job.expected_runs, job.settings) == ({}, None, None, {})
    assert job.created_at is not None and job.updated_at is not None
    assert [j.name for j in store.list_jobs(limit=5).items] == ["fresh"]  # type: ignore[attr-defined]


def test_put_run_on_a_known_job_leaves_the_job_alone(store: Store) -> None:
    job, _ = store.put_job(JobSpec("j", policy="aggregator", settings={"budget": 0.01}))
    store.put_run(spec(job="j"), [tr("a")])
    assert store.get_job("j") == job


# -- tests of a run ---------------------------------------------------------------------------


def test_put_run_without_tests_keeps_the_stored_tests(store: Store) -> None:
    store.put_run(spec(status=RunStatus.PENDING), [tr("a", FAILED, message="m"), tr("b")])
    store.attach_junit("e2e", "1", [junit("f.xml", [tr("c")])])
    run, outcome = store.put_run(spec(status=RunStatus.FAILURE))
    assert outcome is WriteOutcome.UPDATED
    assert statuses(store, "e2e", "1") == {"a": FAILED, "b": PASSED, "c": PASSED}
    assert run.counts == RunCounts(total=3, passed=2, failed=1)
    assert [f.name for f in run.files] == ["f.xml"]


def test_put_run_with_tests_replaces_all_of_them(store: Store) -> None:
    store.put_run(spec(), [tr("old1"), tr("old2", FAILED, message="m")])
    run, outcome = store.put_run(spec(), [tr("new", SKIPPED)])
    assert outcome is WriteOutcome.UPDATED
    assert store.get_run_tests("e2e", "1") == [tr("new", SKIPPED)]
    assert run.counts == RunCounts(total=1, skipped=1)


def test_put_run_with_an_empty_sequence_clears_the_tests(store: Store) -> None:
    store.put_run(spec(), [tr("a"), tr("b", ERROR)])
    run, outcome = store.put_run(spec(), [])
    assert outcome is WriteOutcome.UPDATED
    assert store.get_run_tests("e2e", "1") == []
    assert run.counts == RunCounts()


def test_put_run_with_tests_forgets_the_attached_files(store: Store) -> None:
    store.put_run(spec(), [])
    file = junit("f.xml", [tr("a", FAILED)])
    store.attach_junit("e2e", "1", [file])
    run, outcome = store.put_run(spec(), [tr("a", FAILED)])
    assert outcome is WriteOutcome.UPDATED, "forgetting the files is a change"
    assert run.files == ()
    assert store.get_run("e2e", "1") == run
    _, added = store.attach_junit("e2e", "1", [file])
    assert added == (True,), "a forgotten file can be attached again"
    assert statuses(store, "e2e", "1") == {"a": FAILED}


def test_put_run_with_empty_tests_forgets_the_attached_files(store: Store) -> None:
    store.put_run(spec(), [])
    store.attach_junit("e2e", "1", [junit("f.xml", [tr("a")])])
    run, outcome = store.put_run(spec(), [])
    assert outcome is WriteOutcome.UPDATED
    assert (run.files, run.counts) == ((), RunCounts())
    assert store.get_run_tests("e2e", "1") == []


@pytest.mark.parametrize(
    ("stored", "attached"),
    list(itertools.product(TestStatus, repeat=2)),
    ids=lambda s: s.wire,
)
def test_attach_merges_into_stored_results_with_merge_status(
    store: Store, stored: TestStatus, attached: TestStatus
) -> None:
    store.put_run(spec(), [tr("t", stored), tr("untouched", FAILED)])
    run, added = store.attach_junit("e2e", "1", [junit("f.xml", [tr("t", attached), tr("new")])])
    assert added == (True,)
    assert statuses(store, "e2e", "1") == {
        "t": merge_status(stored, attached),
        "untouched": FAILED,
        "new": PASSED,
    }
    assert run.counts == RunCounts.of(store.get_run_tests("e2e", "1"))


def test_a_failure_in_one_file_and_a_pass_in_another_is_a_flake(store: Store) -> None:
    store.put_run(spec(), [])
    files = [
        junit("shard-1.xml", [tr("t", FAILED, message="timeout"), tr("u", FAILED)]),
        junit("shard-2.xml", [tr("t", PASSED), tr("v", SKIPPED)]),
    ]
    run, added = store.attach_junit("e2e", "1", files)
    assert added == (True, True)
    stored = {t.name: t for t in store.get_run_tests("e2e", "1")}
    assert stored["t"].status is FLAKED
    assert stored["t"].message == "timeout", "a flake keeps the message of its failure"
    assert run.counts == RunCounts(total=3, failed=1, skipped=1, flaked=1)


def test_a_flake_across_calls_keeps_the_failure_message(store: Store) -> None:
    store.put_run(spec(), [tr("t", FAILED, message="first failure")])
    store.attach_junit("e2e", "1", [junit("retry.xml", [tr("t", PASSED)])])
    (stored,) = store.get_run_tests("e2e", "1")
    assert (stored.status, stored.message) == (FLAKED, "first failure")


@pytest.mark.parametrize("failure_first", [True, False])
@pytest.mark.parametrize("other", [PASSED, SKIPPED], ids=lambda s: s.wire)
def test_the_merged_message_is_the_failure_message(
    store: Store, failure_first: bool, other: TestStatus
) -> None:
    failure = tr("t", FAILED, message="the failure")
    note = tr("t", other, message="a note that is not a failure")
    first, second = (failure, note) if failure_first else (note, failure)
    store.put_run(spec(), [first])
    store.attach_junit("e2e", "1", [junit("f.xml", [second])])
    (stored,) = store.get_run_tests("e2e", "1")
    assert (stored.status, stored.message) == (merge_status(FAILED, other), "the failure")


def test_a_file_already_attached_is_skipped_and_not_merged_again(store: Store) -> None:
    store.put_run(spec(), [])
    file = junit("f.xml", [tr("t", FAILED, duration_s=2.0)])
    store.attach_junit("e2e", "1", [file])
    retry = junit("retry.xml", [tr("t", PASSED, duration_s=1.0)])
    run, added = store.attach_junit("e2e", "1", [file, retry])
    assert added == (False, True)
    assert [f.name for f in run.files] == ["f.xml", "retry.xml"]
    (stored,) = store.get_run_tests("e2e", "1")
    assert stored.status is FLAKED


def test_a_file_repeated_within_one_call_is_skipped(store: Store) -> None:
    store.put_run(spec(), [])
    file = junit("f.xml", [tr("t", SKIPPED, duration_s=1.0)])
    same_content = AttachedFile(JunitFile("renamed.xml", file.file.sha256, 1), file.tests)
    run, added = store.attach_junit("e2e", "1", [file, file, same_content])
    assert added == (True, False, False)
    assert run.files == (file.file,)
    assert store.get_run_tests("e2e", "1") == [tr("t", SKIPPED, duration_s=1.0)]


# -- order and pages --------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
def test_list_jobs_pages_through_all_jobs_by_name(store: Store, limit: int) -> None:
    names = ["delta", "alpha", "Charlie", "bravo", "echo", "a b", "a/b", "ä", "", "z" * 512]
    for name in names:
        store.put_job(JobSpec(name))
    jobs = every_page(lambda cursor: store.list_jobs(limit=limit, cursor=cursor))
    assert all(isinstance(job, Job) for job in jobs)
    assert [job.name for job in jobs] == sorted(names)  # type: ignore[attr-defined]


def test_the_last_page_has_no_cursor_even_when_exactly_full(store: Store) -> None:
    for name in "abcd":
        store.put_job(JobSpec(name))
    first = store.list_jobs(limit=2)
    assert first.next_cursor is not None
    second = store.list_jobs(limit=2, cursor=first.next_cursor)
    assert [j.name for j in second.items] == ["c", "d"]  # type: ignore[attr-defined]
    assert second.next_cursor is None
    assert store.list_jobs(limit=4).next_cursor is None


def test_empty_listings_are_one_empty_last_page(store: Store) -> None:
    assert store.list_jobs(limit=5) == Page((), None)
    assert store.list_runs("nothing", limit=5) == Page((), None)


@pytest.mark.parametrize("limit", [1, 3, 25])
def test_list_runs_pages_newest_created_first(store: Store, limit: int) -> None:
    ids = [f"run-{i:02d}" for i in range(12)]
    for run_id in ids:
        store.put_run(spec(run_id=run_id))
    store.put_run(spec(job="other", run_id="x"))
    runs = every_page(lambda cursor: store.list_runs("e2e", limit=limit, cursor=cursor))
    assert all(isinstance(run, Run) for run in runs)
    assert [run.spec.run_id for run in runs] == ids[::-1]  # type: ignore[attr-defined]


def test_an_updated_run_keeps_its_place(store: Store) -> None:
    for run_id in "abc":
        store.put_run(spec(run_id=run_id, status=RunStatus.PENDING))
    store.put_run(spec(run_id="a", status=RunStatus.SUCCESS), [tr("t")])
    store.attach_junit("e2e", "a", [junit("f.xml", [tr("u")])])
    runs = store.list_runs("e2e", limit=10).items
    assert [run.spec.run_id for run in runs] == ["c", "b", "a"]  # type: ignore[attr-defined]


def test_list_runs_pages_stay_consistent_while_runs_are_added(store: Store) -> None:
    for i in range(6):
        store.put_run(spec(run_id=f"old-{i}"))
    first = store.list_runs("e2e", limit=3)
    store.put_run(spec(run_id="newer"))
    assert first.next_cursor is not None
    rest = every_page(lambda c: store.list_runs("e2e", limit=3, cursor=c or first.next_cursor))
    seen = [r.spec.run_id for r in (*first.items, *rest)]  # type: ignore[attr-defined]
    assert seen == [f"old-{i}" for i in reversed(range(6))]


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_is_at_least_one(store: Store, limit: int) -> None:
    store.put_run(spec())
    with pytest.raises(ValueError):
        store.list_jobs(limit=limit)
    with pytest.raises(ValueError):
        store.list_runs("e2e", limit=limit)


MALFORMED_CURSORS = [
    "",
    "x",
    "!!!!",
    "not a cursor at all",
    "eyJub3QiOiAiYSBjdXJzb3IifQ",  # base64 of a JSON object no store produces
    "W10",  # base64 of []
    "bnVsbA",  # base64 of null
    "////",
    "é",
    "A" * 10_000,
    "WyJqb2JzIiwx",  # truncated
]


@pytest.mark.parametrize("cursor", MALFORMED_CURSORS)
def test_a_malformed_cursor_raises_invalid_cursor(store: Store, cursor: str) -> None:
    store.put_run(spec())
    with pytest.raises(InvalidCursor):
        store.list_jobs(limit=1, cursor=cursor)
    with pytest.raises(InvalidCursor):
        store.list_runs("e2e", limit=1, cursor=cursor)


def test_a_cursor_of_one_listing_is_invalid_for_another(store: Store) -> None:
    for run_id in "abc":
        store.put_run(spec(run_id=run_id))
        store.put_run(spec(job="other", run_id=run_id))
    jobs_cursor = store.list_jobs(limit=1).next_cursor
    runs_cursor = store.list_runs("e2e", limit=1).next_cursor
    assert jobs_cursor is not None and runs_cursor is not None
    with pytest.raises(InvalidCursor):
        store.list_runs("e2e", limit=1, cursor=jobs_cursor)
    with pytest.raises(InvalidCursor):
        store.list_jobs(limit=1, cursor=runs_cursor)


@given(garbage=st.text(max_size=80))
@hypothesis_settings
def test_arbitrary_text_is_a_valid_cursor_or_invalid_cursor(store: Store, garbage: str) -> None:
    for fetch in (
        lambda: store.list_jobs(limit=2, cursor=garbage),
        lambda: store.list_runs("e2e", limit=2, cursor=garbage),
    ):
        try:
            page = fetch()
        except InvalidCursor:
            continue
        assert isinstance(page, Page)


# -- times ------------------------------------------------------------------------------------


def test_times_go_in_aware_and_come_out_utc_to_the_microsecond(store: Store) -> None:
    started = datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=CEST)
    finished = started + timedelta(hours=1, microseconds=1)
    store.put_run(spec(started_at=started, finished_at=finished))
    run = store.get_run("e2e", "1")
    assert run is not None
    for value, original in ((run.spec.started_at, started), (run.spec.finished_at, finished)):
        assert value == original
        assert value is not None and value.utcoffset() == timedelta(0)
        assert value.microsecond == original.microsecond
    for stamp in (run.created_at, run.updated_at):
        assert stamp.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)


def test_payload_deadlines_come_out_utc(store: Store) -> None:
    deadline = datetime(2026, 11, 20, 12, 0, 0, 1, tzinfo=CEST)
    payload, _ = store.put_payload(Payload("p", deadline=deadline))
    stored = store.get_payload("p")
    assert stored == payload
    assert stored is not None and stored.deadline == deadline
    assert stored.deadline is not None and stored.deadline.utcoffset() == timedelta(0)
    assert stored.created_at is not None and stored.created_at.utcoffset() == timedelta(0)


def test_job_times_are_utc(store: Store) -> None:
    job, _ = store.put_job(JobSpec("j"))
    assert job.created_at is not None and job.created_at.utcoffset() == timedelta(0)
    assert job.updated_at == job.created_at


# -- thread safety ----------------------------------------------------------------------------


def run_threads(count: int, work: Callable[[int], object]) -> list[object]:
    results: list[object] = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def main(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=main, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_concurrent_writers_lose_and_duplicate_nothing(store: Store, open_handle: Opener) -> None:
    writers, runs_each = 4, 12

    def work(i: int) -> list[WriteOutcome]:
        handle = open_handle()  # one store object per thread
        try:
            outcomes = []
            for n in range(runs_each):
                handle.put_job(JobSpec("shared", variant={"writer": str(i)}))
                _, outcome = handle.put_run(
                    spec(job="shared", run_id=f"w{i}-{n}", payload=f"p{n % 3}"),
                    [tr(f"t{k}", FAILED if k == i else PASSED) for k in range(40)],
                )
                outcomes.append(outcome)
                _, outcome = handle.put_run(spec(job="shared", run_id="contested"), [tr("c")])
                outcomes.append(outcome)
            return outcomes
        finally:
            handle.close()

    outcomes = [o for per in run_threads(writers, work) for o in per]  # type: ignore[attr-defined]
    assert outcomes.count(WriteOutcome.CREATED) == writers * runs_each + 1
    assert outcomes.count(WriteOutcome.UNCHANGED) == writers * runs_each - 1
    runs = every_page(lambda c: store.list_runs("shared", limit=7, cursor=c))
    ids = [run.spec.run_id for run in runs]  # type: ignore[attr-defined]
    assert sorted(ids) == sorted(
        [f"w{i}-{n}" for i in range(writers) for n in range(runs_each)] + ["contested"]
    )
    for run in runs:
        assert run.counts.total == (1 if run.spec.run_id == "contested" else 40)  # type: ignore[attr-defined]
    assert [job.name for job in store.list_jobs(limit=10).items] == ["shared"]  # type: ignore[attr-defined]
    payload_runs = store.list_runs("shared", where=RunFilter(payload="p0"), limit=100).items
    assert len(payload_runs) == writers * len(range(0, runs_each, 3))


def test_concurrent_attach_of_one_file_adds_it_once(store: Store, open_handle: Opener) -> None:
    store.put_run(spec(), [tr("t", FAILED)])
    file = junit("f.xml", [tr("t", PASSED, duration_s=1.0)])

    def work(_: int) -> tuple[bool, ...]:
        handle = open_handle()
        try:
            return handle.attach_junit("e2e", "1", [file])[1]
        finally:
            handle.close()

    added = run_threads(4, work)
    assert sorted(added) == [(False,)] * 3 + [(True,)]  # type: ignore[type-var]
    run = store.get_run("e2e", "1")
    assert run is not None and run.files == (file.file,)
    assert store.get_run_tests("e2e", "1") == [tr("t", FLAKED, duration_s=1.0)]


# -- put_job / get_job / list_jobs ------------------------------------------------------------


def test_put_job_creates_with_the_given_fields(store: Store) -> None:
    job_spec = JobSpec(
        "e2e-aws",
        variant={"platform": "aws", "arch": "amd64"},
        policy="bayes",
        expected_runs=10,
        settings={"false_block_budget": 0.01, "history_days": 14, "informing": ["t1"]},
    )
    job, outcome = store.put_job(job_spec)
    assert outcome is WriteOutcome.CREATED
    assert (job.name, job.variant, job.policy, job.expected_runs, job.settings) == (
        "e2e-aws",
        {"platform": "aws", "arch": "amd64"},
        "bayes",
        10,
        {"false_block_budget": 0.01, "history_days": 14, "informing": ["t1"]},
    )
    assert store.get_job("e2e-aws") == job


def test_put_job_with_none_fields_keeps_the_stored_values(store: Store) -> None:
    full = JobSpec("j", variant={"a": "1"}, policy="bayes", expected_runs=3, settings={"x": 1})
    store.put_job(full)
    job, outcome = store.put_job(JobSpec("j", expected_runs=5))
    assert outcome is WriteOutcome.UPDATED
    assert (job.variant, job.policy, job.expected_runs, job.settings) == (
        {"a": "1"},
        "bayes",
        5,
        {"x": 1},
    )
    job, outcome = store.put_job(JobSpec("j"))
    assert outcome is WriteOutcome.UNCHANGED
    job, outcome = store.put_job(JobSpec("j", variant={}, settings={"y": [1, 2]}))
    assert outcome is WriteOutcome.UPDATED
    assert (job.variant, job.settings, job.policy) == ({}, {"y": [1, 2]}, "bayes")
    assert store.get_job("j") == job


def test_put_job_with_new_values_equal_to_stored_is_unchanged(store: Store) -> None:
    store.put_job(JobSpec("j", variant={"b": "2", "a": "1"}, settings={"k": {"z": 1, "y": 2}}))
    _, outcome = store.put_job(JobSpec("j", variant={"a": "1", "b": "2"}, policy=None))
    assert outcome is WriteOutcome.UNCHANGED, "map order is not content"


def test_get_job_of_an_unknown_job_is_none(store: Store) -> None:
    assert store.get_job("nope") is None


# -- put_run / get_run / list_runs / get_run_tests --------------------------------------------


def test_put_run_stores_the_spec_and_derives_counts_and_files(store: Store) -> None:
    run_spec = spec(
        payload="4.19.0-0.nightly-2026-11-20-101010",
        status=RunStatus.FAILURE,
        started_at=T0,
        finished_at=T0 + timedelta(minutes=90),
        url="https://prow.example/view/gs/bucket/logs/e2e/1",
        variant={"platform": "aws"},
        metadata={"pull": "123", "repo-commit": "abc"},
    )
    tests = [tr("a"), tr("b", FAILED), tr("c", ERROR), tr("d", SKIPPED), tr("e", FLAKED)]
    run, outcome = store.put_run(run_spec, tests)
    assert outcome is WriteOutcome.CREATED
    assert run.spec == run_spec
    assert run.counts == RunCounts(total=5, passed=1, failed=1, errors=1, skipped=1, flaked=1)
    assert run.files == ()
    assert store.get_run("e2e", "1") == run


def test_put_run_can_clear_optional_fields(store: Store) -> None:
    store.put_run(spec(payload="p", url="u", started_at=T0, metadata={"a": "b"}))
    run, outcome = store.put_run(spec())
    assert outcome is WriteOutcome.UPDATED
    assert run.spec == spec()


@pytest.mark.parametrize("status", list(RunStatus))
def test_every_run_status_round_trips(store: Store, status: RunStatus) -> None:
    run, _ = store.put_run(spec(status=status))
    assert run.spec.status is status
    stored = store.get_run("e2e", "1")
    assert stored is not None and stored.spec.status is status


def test_get_run_of_an_unknown_run_or_job_is_none(store: Store) -> None:
    store.put_run(spec())
    assert store.get_run("e2e", "2") is None
    assert store.get_run("nope", "1") is None


def test_get_run_tests_orders_by_suite_then_name(store: Store) -> None:
    tests = [
        tr("b", suite="S2"),
        tr("a", suite="S2"),
        tr("z", suite="S1"),
        tr("Z", suite="S1"),
        tr("é", suite="S1"),
        tr("a", suite=""),
    ]
    store.put_run(spec(), tests)
    got = store.get_run_tests("e2e", "1")
    assert [(t.suite, t.name) for t in got] == sorted((t.suite, t.name) for t in tests)


def test_get_run_tests_round_trips_every_field(store: Store) -> None:
    tests = [
        tr("p", PASSED, duration_s=0.0),
        tr("f", FAILED, duration_s=12.345, message="assertion failed:\n  expected 1\n  got 2"),
        tr("e", ERROR, duration_s=None, message=""),
        tr("s", SKIPPED, duration_s=0.001, message="skipped: [Serial]"),
        tr("k", FLAKED, duration_s=3600.5, message="failed once"),
    ]
    store.put_run(spec(), tests)
    assert store.get_run_tests("e2e", "1") == by_key(tests)


def test_get_run_tests_of_an_unknown_run_raises_not_found(store: Store) -> None:
    store.put_run(spec())
    with pytest.raises(NotFound):
        store.get_run_tests("e2e", "2")
    with pytest.raises(NotFound):
        store.get_run_tests("nope", "1")
    assert store.get_run_tests("e2e", "1") == []


def test_attach_junit_to_an_unknown_run_raises_not_found(store: Store) -> None:
    store.put_run(spec())
    file = junit("f.xml", [tr("a")])
    with pytest.raises(NotFound):
        store.attach_junit("e2e", "2", [file])
    with pytest.raises(NotFound):
        store.attach_junit("nope", "1", [file])
    assert store.get_job("nope") is None and store.get_run("e2e", "2") is None


def test_attach_junit_returns_the_run_and_its_files_in_attach_order(store: Store) -> None:
    store.put_run(spec(payload="p"), [])
    one, two = junit("one.xml", [tr("a")]), junit("two.xml", [tr("b"), tr("c", FAILED)])
    run, added = store.attach_junit("e2e", "1", [one])
    assert added == (True,) and run.files == (one.file,)
    run, added = store.attach_junit("e2e", "1", [two])
    assert added == (True,)
    assert run.files == (one.file, two.file)
    assert run.counts == RunCounts(total=3, passed=2, failed=1)
    assert run.spec.payload == "p"
    assert store.get_run("e2e", "1") == run


def test_attach_junit_with_no_files_changes_nothing(store: Store) -> None:
    before, _ = store.put_run(spec(), [tr("a")])
    run, added = store.attach_junit("e2e", "1", [])
    assert (run, added) == (before, ())


def test_list_runs_filters_by_payload_status_and_since(store: Store) -> None:
    day = timedelta(days=1)
    rows = [
        ("r1", "p1", RunStatus.SUCCESS, T0 - 3 * day),
        ("r2", "p1", RunStatus.FAILURE, T0 - day),
        ("r3", "p2", RunStatus.SUCCESS, T0),
        ("r4", "p1", RunStatus.ERROR, None),  # not started: its creation time counts
        ("r5", None, RunStatus.PENDING, T0 + day),
    ]
    for run_id, payload, status, started in rows:
        store.put_run(spec(run_id=run_id, payload=payload, status=status, started_at=started))

    def ids(where: RunFilter, limit: int = 2) -> list[str]:
        runs = every_page(lambda c: store.list_runs("e2e", where=where, limit=limit, cursor=c))
        return [run.spec.run_id for run in runs]  # type: ignore[attr-defined]

    assert ids(RunFilter()) == ["r5", "r4", "r3", "r2", "r1"]
    assert ids(RunFilter(payload="p1")) == ["r4", "r2", "r1"]
    assert ids(RunFilter(payload="p1"), limit=1) == ["r4", "r2", "r1"]
    assert ids(RunFilter(payload="nope")) == []
    assert ids(RunFilter(status=RunStatus.SUCCESS)) == ["r3", "r1"]
    assert ids(RunFilter(payload="p1", status=RunStatus.FAILURE)) == ["r2"]
    assert ids(RunFilter(since=T0)) == ["r5", "r4", "r3"]
    assert ids(RunFilter(since=(T0 - day).astimezone(CEST))) == ["r5", "r4", "r3", "r2"]
    assert ids(RunFilter(since=T0 + day + timedelta(microseconds=1))) == ["r4"]
    assert ids(RunFilter(payload="p1", since=T0 - 2 * day, status=RunStatus.FAILURE)) == ["r2"]


def test_list_runs_reports_counts_and_files(store: Store) -> None:
    store.put_run(spec(run_id="a"), [tr("x", FAILED)])
    store.put_run(spec(run_id="b"), [])
    file = junit("f.xml", [tr("y"), tr("z", SKIPPED)])
    store.attach_junit("e2e", "b", [file])
    by_id = {run.spec.run_id: run for run in store.list_runs("e2e", limit=5).items}  # type: ignore[attr-defined]
    assert by_id["a"].counts == RunCounts(total=1, failed=1) and by_id["a"].files == ()
    assert by_id["b"].counts == RunCounts(total=2, passed=1, skipped=1)
    assert by_id["b"].files == (file.file,)
    assert by_id["a"] == store.get_run("e2e", "a")


# -- put_payload / get_payload ----------------------------------------------------------------


def test_put_payload_replaces_expected_and_deadline(store: Store) -> None:
    first, outcome = store.put_payload(Payload("p", expected={"a": 2, "b": 3}, deadline=T0))
    assert outcome is WriteOutcome.CREATED
    assert (first.id, first.expected, first.deadline) == ("p", {"a": 2, "b": 3}, T0)
    second, outcome = store.put_payload(Payload("p", expected={"c": 1}))
    assert outcome is WriteOutcome.UPDATED
    assert (second.expected, second.deadline) == ({"c": 1}, None), "replaced, not merged"
    assert second.created_at == first.created_at
    assert store.get_payload("p") == second


def test_put_payload_ignores_caller_timestamps(store: Store) -> None:
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    payload, _ = store.put_payload(Payload("p", created_at=long_ago, updated_at=long_ago))
    assert payload.created_at is not None and payload.created_at > long_ago


def test_get_payload_of_an_unknown_payload_is_none(store: Store) -> None:
    assert store.get_payload("nope") is None


# -- tokens -----------------------------------------------------------------------------------


def test_tokens_are_found_by_hash_with_their_scope(store: Store) -> None:
    hashes = {scope: hashlib.sha256(scope.value.encode()).hexdigest() for scope in Scope}
    for scope, token_hash in hashes.items():
        store.add_token(token_hash, scope, f"{scope.value} token")
    for scope, token_hash in hashes.items():
        assert getattr(store.find_token(token_hash), "scope", None) is scope
    assert store.find_token(hashlib.sha256(b"unknown").hexdigest()) is None
    assert store.find_token("") is None


# -- properties: a model of merge and replace -------------------------------------------------


names = st.sampled_from(["a", "b", "c", "d", "[It] e"])
suites = st.sampled_from(["", "s1", "ß"])
test_results = st.builds(
    TestResult,
    name=names,
    suite=suites,
    status=st.sampled_from(list(TestStatus)),
    duration_s=st.none() | st.integers(0, 10**9).map(lambda ms: ms / 1000),
    message=st.none() | st.text(max_size=20),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.none() | st.lists(test_results, max_size=8)),
        st.tuples(
            st.just("attach"),
            st.lists(st.tuples(st.integers(0, 3), st.lists(test_results, max_size=6)), max_size=3),
        ),
    ),
    min_size=1,
    max_size=6,
)


@given(ops=operations)
@hypothesis_settings
def test_results_follow_the_replace_and_merge_model(store: Store, ops: list[tuple]) -> None:
    job = unique()
    model: dict[tuple[str, str], TestStatus] = {}
    attached: dict[str, str] = {}  # sha -> name
    files: list[str] = []
    store.put_run(spec(job=job), [])
    for kind, arg in ops:
        if kind == "put":
            run, _ = store.put_run(spec(job=job), arg)
            if arg is not None:
                model = {}
                for t in arg:
                    key = (t.suite, t.name)
                    model[key] = merge_status(model[key], t.status) if key in model else t.status
                attached, files = {}, []
        else:
            batch = [junit(f"f{slot}.xml", tests, salt=str(slot)) for slot, tests in arg]
            run, added = store.attach_junit(job, "1", batch)
            expected_added = []
            for file in batch:
                new = file.file.sha256 not in attached
                expected_added.append(new)
                if not new:
                    continue
                attached[file.file.sha256] = file.file.name
                files.append(file.file.name)
                # Within one file the tests are already merged (AttachedFile's contract).
                per_file: dict[tuple[str, str], TestStatus] = {}
                for t in file.tests:
                    key = (t.suite, t.name)
                    per_file[key] = (
                        merge_status(per_file[key], t.status) if key in per_file else t.status
                    )
                for key, status in per_file.items():
                    model[key] = merge_status(model[key], status) if key in model else status
            assert added == tuple(expected_added)
        stored = store.get_run_tests(job, "1")
        assert {(t.suite, t.name): t.status for t in stored} == model
        assert len(stored) == len({(t.suite, t.name) for t in stored})
        assert run.counts == RunCounts.of(stored)
        assert [f.name for f in run.files] == files
        assert store.get_run(job, "1") == run


unicode_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40
)


@given(
    tests=st.lists(
        st.builds(
            TestResult,
            name=unicode_text,
            suite=unicode_text,
            status=st.sampled_from(list(TestStatus)),
            duration_s=st.none() | st.integers(-(10**6), 10**12).map(lambda ms: ms / 1000),
            message=st.none() | unicode_text,
        ),
        max_size=30,
        unique_by=lambda t: (t.suite, t.name),
    ),
    run_id=unicode_text,
)
@hypothesis_settings
def test_any_text_and_values_round_trip(store: Store, tests: list[TestResult], run_id: str) -> None:
    job = unique("ünï/code (job)")
    run, outcome = store.put_run(spec(job=job, run_id=run_id), tests)
    assert outcome is WriteOutcome.CREATED
    assert store.get_run_tests(job, run_id) == by_key(tests)
    assert run.counts == RunCounts.of(tests)
    _, outcome = store.put_run(spec(job=job, run_id=run_id), list(reversed(tests)))
    assert outcome is WriteOutcome.UNCHANGED
