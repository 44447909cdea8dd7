"""What is particular to the PostgreSQL backend: the dialect, text PostgreSQL cannot hold,
the pool, fault mapping and ``flakegate db init``. (The contract suite covers behaviour.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg import errors as pg_errors

from api.store import StoreFull, StoreUnavailable, open_store
from api.store.postgres.db import classify, close_pools
from api.store.postgres.dialect import array_literal, escape, translate, unescape
from api.store.postgres.schema import pg_migrations
from tests.fixtures import ROOT
from tests.postgres_server import shared_postgres
from tests.processes import free_port


def test_placeholders_lists_and_functions_are_rewritten() -> None:
    statement = translate(
        "SELECT group_concat(x), max(a, b), max(c) FROM t WHERE id IN"
        " (SELECT value FROM json_each(?)) AND name IS NOT ? AND note LIKE '50%?'")
    assert statement.sql == (
        "SELECT string_agg((x)::text, ','), greatest(a, b), max(c) FROM t WHERE id = ANY(%s)"
        " AND name IS DISTINCT FROM %s AND note LIKE '50%%?'")
    assert statement.bind(["[1, 2]", "n"]) == ["{1,2}", "n"]


def test_upsert_columns_are_qualified_but_not_assigned_ones() -> None:
    statement = translate(
        "INSERT INTO jobs (name, policy) VALUES (:name, :policy) ON CONFLICT (name) DO UPDATE"
        " SET policy = coalesce(:policy, policy) WHERE coalesce(:policy, policy) IS NOT policy")
    assert statement.sql.endswith(
        "DO UPDATE SET policy = coalesce(%(policy)s, jobs.policy)"
        " WHERE coalesce(%(policy)s, jobs.policy) IS DISTINCT FROM jobs.policy")


def test_numbered_placeholders_bind_by_name() -> None:
    statement = translate("SELECT 1 WHERE (?1 IS NULL OR a = ?1) AND b = ?2")
    assert statement.bind(["x", 2]) == {"_1": "x", "_2": 2}


def test_flags_and_bare_parameters_used_as_truth_values_become_booleans() -> None:
    sql = translate("SELECT 1 FROM v WHERE v.has_alerts AND (:first OR v.latch = 1)").sql
    assert sql == ("SELECT 1 FROM v WHERE (v.has_alerts <> 0) AND ((%(first)s)::boolean"
                   " OR v.latch = 1)")


def test_array_literals_quote_text() -> None:
    assert array_literal('["a", "b\\"c", "d\\\\e"]') == '{"a","b\\"c","d\\\\e"}'
    assert array_literal("[]") == "{}"


@given(st.lists(st.text(alphabet=st.sampled_from("\x00\x01\x02ab")), min_size=2, max_size=2))
def test_text_escaping_round_trips_and_keeps_the_order(texts: list[str]) -> None:
    first, second = texts
    assert unescape(escape(first)) == first
    assert "\x00" not in escape(first)
    assert (escape(first) < escape(second)) == (first < second)


def test_server_faults_are_store_errors() -> None:
    assert isinstance(classify(pg_errors.TooManyConnections("too many"), "db"),
                      StoreUnavailable)
    assert isinstance(classify(pg_errors.DiskFull("full"), "db"), StoreFull)
    assert isinstance(classify(pg_errors.AdminShutdown("bye"), "db"), StoreUnavailable)
    assert classify(pg_errors.SyntaxError("bug"), "db") is None


def test_an_unreachable_server_is_unavailable_and_hides_the_password() -> None:
    url = f"postgresql://u:secret@127.0.0.1:{free_port()}/db?connect_timeout=1"
    try:
        with pytest.raises(StoreUnavailable) as raised:
            open_store(url, pool_timeout=1.0)
        assert "secret" not in str(raised.value)
    finally:
        close_pools()  # its pool would go on trying to connect in the background


def test_an_exhausted_pool_is_unavailable_and_handles_are_pooled() -> None:
    # application_name makes this test's pool its own (pools are per URL).
    url = shared_postgres().fresh_url() + "&application_name=exhausted"
    first = open_store(url, pool_max=1, pool_timeout=0.3)
    backend = first.connection.info.backend_pid
    with pytest.raises(StoreUnavailable):
        open_store(url, pool_max=1, pool_timeout=0.3)
    first.close()
    second = open_store(url, pool_max=1, pool_timeout=0.3)
    assert second.connection.info.backend_pid == backend  # no reconnect per handle
    second.close()


def test_db_init_migrates_a_postgresql_database() -> None:
    url = shared_postgres().fresh_url()
    done = subprocess.run([sys.executable, "-m", "client.cli", "db", "init", "--db", url],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    store = open_store(url)
    try:
        # Already in force (the newest migration's number): nothing applied twice.
        assert store.migrate() == pg_migrations()[-1].version
        store.ping()
    finally:
        store.close()


def test_a_connection_killed_by_the_server_is_unavailable_then_replaced() -> None:
    import psycopg

    url = shared_postgres().fresh_url()
    store = open_store(url)
    store.migrate()
    backend = store.connection.info.backend_pid
    with psycopg.connect(shared_postgres().url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(StoreUnavailable):
        store.get_job("anything")
    store.close()  # gives the dead connection back without raising; the pool drops it
    again = open_store(url)
    try:
        assert again.connection.info.backend_pid != backend
        assert again.get_job("anything") is None
    finally:
        again.close()


def test_a_resumed_copy_still_moves_the_id_counters_past_the_imported_ids(
        tmp_path: Path) -> None:
    """A copy killed after a batch's commit but before the counters moved re-imports that batch
    on resume (nothing new): the counters must still move, or the next breakage collides."""
    from tests.transfer_history import build_history, import_all, read_all

    source = open_store(f"sqlite://{tmp_path / 'source.db'}")
    source.migrate()
    build_history(source)
    target = open_store(shared_postgres().fresh_url())
    target.migrate()
    try:
        import_all(source, target)
        with target.db.write() as tx:  # the state a kill between the two transactions leaves
            tx.conn.execute("SELECT setval(pg_get_serial_sequence('breakages', 'id'), 1, false)")
        rows = read_all(source, "breakages")
        assert rows and target.transfer.import_rows("breakages", rows) == 0  # the resumed batch
        made = target.breakages.add_breakage(cause="after the copy", jobs=["j"], pattern_id=None,
                                             notes="", actor="test")
        assert made.id > len(rows)
    finally:
        target.close()
        source.close()


def test_query_parameters_reach_libpq_whole() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from api.store.postgres import connection_parts

    conninfo, schema, shown = connection_parts(
        "postgresql://u:s%40cret@db.example:6543/flakegate?schema=gate"
        "&options=-c%20statement_timeout%3D5000&application_name=a%26b%2Bc")
    params = conninfo_to_dict(conninfo)
    assert params["options"] == "-c statement_timeout=5000"
    assert params["application_name"] == "a&b+c"
    assert params["password"] == "s@cret" and params["connect_timeout"] == "5"
    assert schema == "gate" and shown == "db.example:6543/flakegate"
