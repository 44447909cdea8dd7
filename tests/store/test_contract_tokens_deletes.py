"""The store contract for deletes, pending-run times and tokens (every backend runs it)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from api.domain import JunitFile, Payload, RunSpec, RunStatus, Scope, TestResult, TestStatus
from api.store import AttachedFile, AuditEntry, HistoryWindow, NotFound, Store, TokenInfo

from .test_contract import every_page

T0 = datetime(2026, 11, 1, tzinfo=UTC)
P, F = TestStatus.PASSED, TestStatus.FAILED


def put(store: Store, job: str, run_id: str, status: RunStatus = RunStatus.SUCCESS, *,
        payload: str | None = "p", started: datetime | None = T0,
        tests: dict[str, TestStatus] | None = None) -> None:
    store.put_run(RunSpec(job=job, run_id=run_id, status=status, payload=payload,
                          started_at=started),
                  [TestResult(n, "s", s) for n, s in (tests or {"a": P, "b": F}).items()])


def entry(action: str, reason: str = "repair") -> AuditEntry:
    return AuditEntry(job="", action=action, actor="tester", reason=reason, tests=(),
                      version=None, at=T0)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- deleting a run ----------------------------------------------------------------------------


def test_a_deleted_run_leaves_no_trace_and_can_be_put_again(store: Store) -> None:
    put(store, "j", "1", tests={"a": P, "b": F})
    put(store, "j", "2", tests={"a": P, "b": P})
    files = [AttachedFile(JunitFile("x.xml", "f" * 64, 1), [TestResult("c", "s", F)])]
    store.attach_junit("j", "1", files)

    store.delete_run("j", "1", entry("delete_run"))

    assert store.get_run("j", "1") is None
    assert [r.spec.run_id for r in store.list_runs("j", limit=10).items] == ["2"]
    runs, tallies = store.history_tallies("j", HistoryWindow())
    assert runs == 1 and {t.name: t.failures for t in tallies} == {"a": 0, "b": 0}
    (summary,) = store.payload_runs("p")
    assert (summary.total, summary.finished, summary.counted) == (1, 1, 1)
    assert store.verdict_inputs("p").runs == (summary,)
    evidence = store.payload_evidence("j", "p", None)
    assert sorted(evidence.names) == ["a", "b"] and int(evidence.counts[:, 1].sum()) == 0
    with pytest.raises(NotFound):
        store.get_run_tests("j", "1")
    audit = store.list_audit("j", limit=10).items
    assert [(a.job, a.action, a.actor, a.reason) for a in audit] == [
        ("j", "delete_run", "tester", "repair")]

    put(store, "j", "1", tests={"z": P})  # the id is free again, with nothing left over
    assert [t.name for t in store.get_run_tests("j", "1")] == ["z"]
    run = store.get_run("j", "1")
    assert run is not None and run.files == () and run.counts.total == 1


def test_deleting_an_absent_run_is_not_found_and_writes_no_audit(store: Store) -> None:
    put(store, "j", "1")
    with pytest.raises(NotFound):
        store.delete_run("j", "nope", entry("delete_run"))
    with pytest.raises(NotFound):
        store.delete_run("no-such-job", "1", entry("delete_run"))
    assert store.list_audit("j", limit=10).items == ()


# -- deleting a payload's registration ---------------------------------------------------------


def test_deleting_a_payload_keeps_its_runs_and_audits_each_involved_job(store: Store) -> None:
    put(store, "a", "1")
    put(store, "b", "1", payload="other")
    store.put_payload(Payload(id="p", expected={"a": 2, "b": 1, "never-created": 1}))

    audited = store.delete_payload("p", entry("delete_payload", "wrong expectations"))

    assert audited == ("a", "b")
    assert store.get_payload("p") is None
    assert [r.job for r in store.payload_runs("p")] == ["a"]  # the runs stay
    assert store.verdict_inputs("p").payload is None
    for job in ("a", "b"):
        (logged,) = store.list_audit(job, limit=10).items
        assert (logged.job, logged.action, logged.reason) == (
            job, "delete_payload", "wrong expectations")
    with pytest.raises(NotFound):
        store.delete_payload("p", entry("delete_payload"))
    store.put_payload(Payload(id="p", expected={"a": 1}))  # registering again works
    assert store.get_payload("p") is not None


# -- pending runs' times for the verdict -------------------------------------------------------


def test_payload_runs_give_each_pending_runs_start_oldest_first(store: Store) -> None:
    put(store, "j", "done", RunStatus.SUCCESS, started=T0)
    put(store, "j", "late", RunStatus.PENDING, started=T0 + timedelta(hours=2))
    put(store, "j", "early", RunStatus.PENDING, started=T0 - timedelta(hours=13))
    put(store, "k", "1", RunStatus.FAILURE)
    by_job = {r.job: r for r in store.verdict_inputs("p").runs}
    assert by_job["j"].pending_since == (T0 - timedelta(hours=13), T0 + timedelta(hours=2))
    assert by_job["k"].pending_since == ()
    assert store.payload_runs("p")[0].pending_since == by_job["j"].pending_since


def test_a_pending_run_never_started_is_pending_since_its_creation(store: Store) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    put(store, "j", "1", RunStatus.PENDING, started=None)
    (summary,) = store.payload_runs("p")
    (since,) = summary.pending_since
    assert before <= since <= datetime.now(UTC) + timedelta(seconds=1)


# -- tokens ------------------------------------------------------------------------------------


def test_tokens_are_listed_by_id_without_secrets_and_paged(store: Store) -> None:
    expires = T0 + timedelta(days=90)
    made = [store.add_token(digest(f"t{i}"), Scope.READ, f"label {i}",
                            expires if i == 0 else None) for i in range(5)]
    assert made[0].id == digest("t0")[:12] and made[0].expires_at == expires
    assert made[0].last_used_at is None and made[0].revoked_at is None
    listed = every_page(lambda cursor: store.list_tokens(limit=2, cursor=cursor))
    assert listed == made
    found = store.find_token(digest("t3"))
    assert found == made[3] and found.label == "label 3"
    assert store.find_token(digest("unknown")) is None


def test_a_revoked_token_is_kept_with_who_revoked_it(store: Store) -> None:
    made = store.add_token(digest("x"), Scope.ADMIN, "ci")
    revoked = store.revoke_token(made.id, actor="alice", at=T0)
    assert (revoked.revoked_at, revoked.revoked_by) == (T0, "alice")
    again = store.revoke_token(made.id, actor="bob", at=T0 + timedelta(hours=1))
    assert (again.revoked_at, again.revoked_by) == (T0, "alice")  # the first revocation stays
    found = store.find_token(digest("x"))
    assert found == revoked and not found.live(T0)
    with pytest.raises(NotFound):
        store.revoke_token("000000000000", actor="alice", at=T0)


def test_touching_a_token_only_moves_last_used_forward(store: Store) -> None:
    made = store.add_token(digest("y"), Scope.WRITE, "ci")
    store.touch_token(made.id, T0)
    store.touch_token(made.id, T0 - timedelta(minutes=5))
    found = store.find_token(digest("y"))
    assert found is not None and found.last_used_at == T0


def test_liveness_follows_expiry_and_revocation() -> None:
    token = TokenInfo(id="a" * 12, scope=Scope.READ, label="", created_at=T0,
                      expires_at=T0 + timedelta(days=1))
    assert token.live(T0) and not token.live(T0 + timedelta(days=1))
    assert TokenInfo(id="b" * 12, scope=Scope.READ, label="", created_at=T0).live(
        T0 + timedelta(days=10_000))
