"""SQLite specifics of the page reads: migration 0014 keys the tests already stored, interning
keys new ones, and a key resolves through its index."""

from __future__ import annotations

from pathlib import Path

from api.domain import RunSpec, RunStatus, TestResult, TestStatus
from api.pages_urls import key_for_test
from api.store.sqlite.store import SqliteStore

NAME = 'odd "name" \\ with\x00 nul, ünïcode and / slashes'


def test_migration_0014_keys_tests_stored_before_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "f.db")
    store.migrate()
    store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS),
                  [TestResult(NAME, "s", TestStatus.PASSED),
                   TestResult("b", "", TestStatus.FAILED)])
    conn = store.connection
    # Back to the schema before 0014, with the tests already interned.
    for statement in ("DROP INDEX tests_by_key", "DROP INDEX runs_by_payload_created",
                      "ALTER TABLE tests DROP COLUMN key",
                      "DELETE FROM schema_version WHERE version = 14"):
        conn.execute(statement)
    store.migrate()
    stored = dict(conn.execute("SELECT name, key FROM tests").fetchall())
    assert stored == {NAME: key_for_test("s", NAME), "b": key_for_test("", "b")}
    found = store.page_reads.find_test("j", key_for_test("s", NAME))
    assert found is not None and found.name == NAME
    store.close()


def test_interning_keys_new_tests_and_the_history_plan_probes_by_key(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "f.db")
    store.migrate()
    store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS),
                  [TestResult("a", "s", TestStatus.PASSED)])
    store.put_run(RunSpec(job="j", run_id="2", status=RunStatus.SUCCESS),
                  [TestResult("a", "s", TestStatus.PASSED),
                   TestResult("c", "s", TestStatus.PASSED)])
    keys = dict(store.connection.execute("SELECT name, key FROM tests").fetchall())
    assert keys == {"a": key_for_test("s", "a"), "c": key_for_test("s", "c")}
    plan = " ".join(str(row[-1]) for row in store.connection.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM tests WHERE key = ?", ("x",)))
    assert "tests_by_key" in plan
    store.close()
