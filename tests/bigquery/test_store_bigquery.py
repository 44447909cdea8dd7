"""BigQuery-specific behaviour beyond the shared contract: URLs, read-only opening, the
generation swap, compare-and-set under a concurrent writer, and the CLI on the emulator."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from api.domain import RunSpec, RunStatus, TestResult, TestStatus, WriteOutcome
from api.store import StoreError, open_store
from api.store.bigquery import BigQueryStore
from api.store.bigquery.schema import SCHEMA_VERSION
from tests.bigquery.emulator import ROOT, Emulator

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("url", [
    "bigquery://project",
    "bigquery://project/",
    "bigquery://project/data-set",
    "bigquery://project/ds`; DROP TABLE x; --",
    "bigquery://Project/ds",
    "bigquery://project/ds?x=1",
])
def test_malformed_bigquery_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="bigquery://PROJECT/DATASET"):
        open_store(url)


def test_opening_and_reading_write_nothing(bq_url: str) -> None:
    store = open_store(bq_url)
    assert isinstance(store, BigQueryStore)
    # No dataset yet: real BigQuery answers 404 (StoreError), the emulator an empty result;
    # either way reading must not create anything.
    with contextlib.suppress(StoreError):
        assert store.get_job("anything") is None
    names = [d.dataset_id for d in store.connection.client.list_datasets()]
    assert store.dataset not in names


def _generations(store: BigQueryStore) -> list[int]:
    c = store.connection
    return [row[0] for row in c.rows(f"SELECT DISTINCT gen FROM {c.table('results')}"
                                     " WHERE job = 'j' ORDER BY gen")]


def test_replacing_tests_keeps_one_previous_generation(bq_url: str) -> None:
    store = open_store(bq_url)
    assert isinstance(store, BigQueryStore)
    store.migrate()
    gens = []
    for status in (TestStatus.PASSED, TestStatus.FAILED, TestStatus.FLAKED):
        store.put_run(RunSpec("j", "1", RunStatus.SUCCESS),
                      [TestResult("t", "s", status)])
        gens.append(store._runs._run_row("j", "1").gen)  # type: ignore[union-attr]
        assert store.get_run_tests("j", "1") == [TestResult("t", "s", status)]
    assert _generations(store) == sorted(gens[-2:]), "the current and the one before"


def test_a_lost_compare_and_set_is_retried_on_fresh_data(bq_url: str) -> None:
    store = open_store(bq_url)
    assert isinstance(store, BigQueryStore)
    store.migrate()
    store.put_run(RunSpec("j", "1", RunStatus.PENDING))
    stale = store._runs._run_row("j", "1")
    other = open_store(bq_url)
    other.put_run(RunSpec("j", "1", RunStatus.FAILURE), [TestResult("t", "s", TestStatus.FAILED)])
    reads = iter([stale])
    real = store._runs._run_row
    store._runs._run_row = lambda job, run_id: next(reads, None) or real(job, run_id)  # type: ignore[method-assign]
    run, outcome = store.put_run(RunSpec("j", "1", RunStatus.SUCCESS),
                                 [TestResult("t", "s", TestStatus.PASSED)])
    assert outcome is WriteOutcome.UPDATED and run.spec.status is RunStatus.SUCCESS
    assert other.get_run_tests("j", "1") == [TestResult("t", "s", TestStatus.PASSED)]
    assert len(other.list_runs("j", limit=10).items) == 1


def test_cli_db_init_and_export_on_the_emulator(bq_emulator: Emulator, bq_url: str,
                                                tmp_path: Path) -> None:
    env = {**os.environ, **bq_emulator.environ()}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "client.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert f"schema version {SCHEMA_VERSION}" in cli("db", "init", "--db", bq_url)
    assert f"schema version {SCHEMA_VERSION}" in cli("db", "init", "--db", bq_url)
    store = open_store(bq_url)
    store.put_run(RunSpec("j", "1", RunStatus.SUCCESS), [TestResult("t", "s", TestStatus.PASSED)])
    out = tmp_path / "out"
    assert "exported 3 rows" in cli("export", "ndjson", "--out", str(out), "--db", bq_url)
    assert "exported 0 rows" in cli("export", "ndjson", "--out", str(out), "--db", bq_url,
                                    "--since", "2020-01-01")
    target = bq_url + "_copy"
    assert "exported 3 rows" in cli("export", "bigquery", "--to", target, "--db", bq_url)
    assert "exported 0 rows" in cli("export", "bigquery", "--to", target, "--db", bq_url)


def test_migrating_a_current_dataset_writes_nothing(bq_url: str) -> None:
    """A server holding only a read-only credential still starts: its migrate() is a read."""
    store = open_store(bq_url)
    assert isinstance(store, BigQueryStore)
    assert store.migrate() == SCHEMA_VERSION
    reader = open_store(bq_url)
    assert isinstance(reader, BigQueryStore)

    def refuse(*args: object, **kwargs: object) -> int:
        raise AssertionError("a write from a read-only migrate")

    reader.connection.execute = refuse  # type: ignore[method-assign]
    reader.connection.client.create_dataset = refuse  # type: ignore[method-assign]
    assert reader.migrate() == SCHEMA_VERSION


def test_a_dataset_of_schema_version_1_gains_the_new_tables_and_columns(bq_url: str) -> None:
    """Version 1 had no baseline membership, leases, informing flags, audit values or token
    lifecycle; migrating such a dataset adds them and the store then works on it."""
    from api.domain import Scope
    from api.store.bigquery.schema import TABLES

    store = open_store(bq_url)
    assert isinstance(store, BigQueryStore)
    conn = store.connection
    conn.client.create_dataset(f"{conn.project}.{conn.dataset}", exists_ok=True)
    tokens = next(table for table in TABLES if table.name == "tokens")
    old_columns = tuple(column for column in tokens.columns if column[0] in
                        ("hash", "scope", "label", "created_at"))
    assert len(old_columns) == 4, tokens.columns
    conn.execute(replace(tokens, columns=old_columns).ddl(conn.table("tokens")))
    conn.execute(f"CREATE TABLE {conn.table('schema_version')} (version INT64, applied_at"
                 " TIMESTAMP)")
    conn.execute(f"INSERT INTO {conn.table('schema_version')} VALUES (1, CURRENT_TIMESTAMP())")

    assert store.migrate() == SCHEMA_VERSION
    store.add_token("ab" * 32, Scope.READ, "after the upgrade")
    found = store.find_token("ab" * 32)
    assert found is not None and found.scope is Scope.READ and found.revoked_at is None
