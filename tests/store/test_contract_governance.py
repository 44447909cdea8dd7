"""The store contract for audited settings changes (every backend runs it): ``put_job`` with an
actor appends one entry per changed field, with JSON old and new values, in the same write."""

from __future__ import annotations

from datetime import datetime

from api.domain import JobSpec
from api.store import AuditEntry, Store

from .test_contract import every_page


def audit(store: Store, job: str = "j") -> list[AuditEntry]:
    return every_page(lambda cursor: store.list_audit(job, limit=3, cursor=cursor))


def changes(store: Store, job: str = "j") -> list[tuple[str | None, object, object, str]]:
    return [(e.field, e.old, e.new, e.actor) for e in reversed(audit(store, job))]


def test_each_changed_field_is_one_entry_with_old_and_new(store: Store) -> None:
    store.put_job(JobSpec(name="j", policy="bayes", settings={"latch": True}), actor="admin")
    assert changes(store) == [("policy", None, "bayes", "admin"), ("latch", None, True, "admin")]
    store.put_job(JobSpec(name="j", expected_runs=10,
                          settings={"latch": False, "informing": ["t1", "β"],
                                    "false_block_budget": 0.05}), actor="token sha256:abc")
    assert changes(store)[2:] == [
        ("expected_runs", None, 10, "token sha256:abc"),
        ("false_block_budget", None, 0.05, "token sha256:abc"),
        ("informing", None, ["t1", "β"], "token sha256:abc"),
        ("latch", True, False, "token sha256:abc"),
    ]
    entry = audit(store)[0]
    assert entry.action == "settings" and entry.job == "j" and entry.version is None
    assert entry.at.tzinfo is not None


def test_a_removed_setting_is_a_change_to_null(store: Store) -> None:
    store.put_job(JobSpec(name="j", settings={"z": 2.0, "latch": True}), actor="a")
    store.put_job(JobSpec(name="j", settings={"latch": True}), actor="b")
    assert changes(store)[-1] == ("z", 2.0, None, "b")


def test_an_unchanged_put_or_no_actor_adds_nothing(store: Store) -> None:
    store.put_job(JobSpec(name="j", policy="stddev"), actor="a")
    store.put_job(JobSpec(name="j", policy="stddev"), actor="a")
    store.put_job(JobSpec(name="j", variant={"arch": "arm64"}))
    assert changes(store) == [("policy", None, "stddev", "a")]


def test_settings_entries_and_other_entries_share_one_log(store: Store) -> None:
    store.put_job(JobSpec(name="j"))
    store.add_audit(AuditEntry(job="j", action="loosen", actor="admin", reason="r",
                               tests=(("s", "t"),), version=2,
                               at=audit_time(store)))
    store.put_job(JobSpec(name="j", settings={"latch": True}), actor="admin")
    assert [(e.action, e.field) for e in audit(store)] == [("settings", "latch"),
                                                          ("loosen", None)]
    assert audit(store)[1].old is None and audit(store)[1].new is None


def audit_time(store: Store) -> datetime:
    job = store.get_job("j")
    assert job is not None
    return job.created_at
