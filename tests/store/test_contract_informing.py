"""The store contract for informing results (every backend runs it): the flag is stored per
result, merged across attached files (informing if any file says so), part of a run's identity,
and read back by ``payload_evidence``."""

from __future__ import annotations

from api.domain import JunitFile, RunSpec, RunStatus, TestResult, TestStatus, WriteOutcome
from api.store import AttachedFile, Store

P, F = TestStatus.PASSED, TestStatus.FAILED
RUN = RunSpec(job="j", run_id="r", status=RunStatus.FAILURE, payload="p")


def flags(store: Store) -> dict[str, bool]:
    return {t.name: t.informing for t in store.get_run_tests("j", "r")}


def test_the_flag_is_stored_and_part_of_the_runs_identity(store: Store) -> None:
    tests = [TestResult("a", "s", F, informing=True), TestResult("b", "s", P)]
    assert store.put_run(RUN, tests)[1] is WriteOutcome.CREATED
    assert flags(store) == {"a": True, "b": False}
    assert store.put_run(RUN, tests)[1] is WriteOutcome.UNCHANGED
    assert store.put_run(RUN, [TestResult("a", "s", F), TestResult("b", "s", P)])[1] \
        is WriteOutcome.UPDATED
    assert flags(store) == {"a": False, "b": False}


def test_attached_files_merge_the_flag(store: Store) -> None:
    store.put_run(RUN)
    first = AttachedFile(JunitFile("1.xml", "1" * 64, 2),
                         [TestResult("a", "s", F), TestResult("b", "s", P, informing=True)])
    second = AttachedFile(JunitFile("2.xml", "2" * 64, 1), [TestResult("a", "s", P,
                                                                        informing=True)])
    store.attach_junit("j", "r", [first])
    assert flags(store) == {"a": False, "b": True}
    store.attach_junit("j", "r", [second])
    assert flags(store) == {"a": True, "b": True}
    assert {t.name: t.status for t in store.get_run_tests("j", "r")} == {
        "a": TestStatus.FLAKED, "b": P}


def test_payload_evidence_reads_the_flag_over_counted_runs(store: Store) -> None:
    store.put_run(RUN, [TestResult("a", "s", F, informing=True), TestResult("b", "s", F)])
    store.put_run(RunSpec(job="j", run_id="r2", status=RunStatus.FAILURE, payload="p"),
                  [TestResult("a", "s", F), TestResult("b", "s", F)])
    store.put_run(RunSpec(job="j", run_id="r3", status=RunStatus.ERROR, payload="p"),
                  [TestResult("b", "s", F, informing=True)])  # not evidence
    columns = store.payload_evidence("j", "p", None)
    assert columns.informing is not None
    marked = dict(zip(columns.names, columns.informing.tolist(), strict=True))
    assert marked == {"a": True, "b": False}
