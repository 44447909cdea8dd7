"""PostgreSQL specifics of the page reads: migration 0014 keys the tests stored before it in
SQL, exactly as :func:`api.pages_urls.key_for_test` does in Python."""

from __future__ import annotations

from api.domain import RunSpec, RunStatus, TestResult, TestStatus
from api.pages_urls import key_for_test
from api.store import open_store
from tests.postgres_server import shared_postgres

# What JSON escapes (quote, backslash, controls), what it must leave alone (slash, DEL,
# non-ASCII, astral characters), and plain text.
NAMES = [("e2e", 'say "hi" \\ back/slash'), ("", "tab\there\nnewline\x1f\x7f"),
         ("sig-ünï", "emoji 🚀 and 中文 [Conformance]"), ("s", "plain")]


def test_migration_0014_keys_existing_tests_as_python_does() -> None:
    store = open_store(shared_postgres().fresh_url())
    try:
        store.migrate()
        store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS),
                      [TestResult(name, suite, TestStatus.PASSED) for suite, name in NAMES])
        raw = store.connection  # type: ignore[attr-defined]
        for statement in ("DROP INDEX tests_by_key", "DROP INDEX runs_by_payload_created",
                          "ALTER TABLE tests DROP COLUMN key",
                          "DELETE FROM schema_version WHERE version = 14"):
            raw.execute(statement)
        raw.commit()
        store.migrate()
        stored = {(suite, name): key for suite, name, key in
                  raw.execute("SELECT suite, name, key FROM tests").fetchall()}
        assert stored == {pair: key_for_test(*pair) for pair in NAMES}
        found = store.page_reads.find_test("j", key_for_test(*NAMES[0]))
        assert found is not None and (found.suite, found.name) == NAMES[0]
    finally:
        store.close()
