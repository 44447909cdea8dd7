"""SQLite-specific properties: pragmas, migrations, processes, crashes, plans and size.

The behaviour every backend shares is in ``test_contract.py``; this file checks how the
SQLite backend keeps it (one transaction per write, WAL, indexes, a compact results table).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.domain import (
    MESSAGE_LIMIT,
    JobSpec,
    JunitFile,
    Payload,
    RunCounts,
    RunSpec,
    RunStatus,
    Scope,
    TestResult,
    TestStatus,
    WriteOutcome,
)
from api.store import (
    AttachedFile,
    InvalidCursor,
    NotFound,
    RunFilter,
    Store,
    StoreError,
    StoreUnavailable,
    open_store,
)
from api.store import base as store_base
from api.store.sqlite import SqliteStore
from api.store.sqlite.schema import Migration, apply_migrations, load_migrations

PASSED, FAILED, SKIPPED = TestStatus.PASSED, TestStatus.FAILED, TestStatus.SKIPPED
SPAWN = multiprocessing.get_context("spawn")


def tr(name: str, status: TestStatus = PASSED, **fields: Any) -> TestResult:
    fields.setdefault("suite", "suite")
    return TestResult(name=name, status=status, **fields)


def spec(job: str = "e2e", run_id: str = "1", **fields: Any) -> RunSpec:
    fields.setdefault("status", RunStatus.SUCCESS)
    return RunSpec(job=job, run_id=run_id, **fields)


def attached(name: str, sha: str, tests: list[TestResult]) -> AttachedFile:
    return AttachedFile(JunitFile(name=name, sha256=sha, tests=len(tests)), tuple(tests))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "flakegate.db"


@pytest.fixture
def sqlite_store(db_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(db_path)
    store.migrate()
    yield store
    store.close()


def scalar(store: SqliteStore, sql: str, *params: Any) -> Any:
    return store.connection.execute(sql, params).fetchone()[0]


class Proxy:
    """Stands in for a store's connection to observe or sabotage its statements."""

    def __init__(self, conn: sqlite3.Connection, hook: Callable[[str], None]) -> None:
        self._conn = conn
        self._hook = hook

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = self._conn.execute(sql, *args)
        self._hook(sql)
        return cursor

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = self._conn.executemany(sql, *args)
        self._hook(sql)
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


# -- workers for other processes (module level so that "spawn" can import them) ---------------


def _migrate_worker(path: str) -> int:
    with SqliteStore(path) as store:
        return store.migrate()


def _writer_worker(path: str, writer: int, runs: int, tests: int) -> list[str]:
    outcomes = []
    with SqliteStore(path) as store:
        shared = attached("shared.xml", "f" * 64, [tr("t0", FAILED)])
        for n in range(runs):
            store.put_job(JobSpec("shared", variant={"w": str(writer)}))
            statuses = [FAILED if k % 50 == writer else PASSED for k in range(tests)]
            results = [tr(f"t{k}", s) for k, s in enumerate(statuses)]
            _, outcome = store.put_run(spec(job="shared", run_id=f"w{writer}-{n}"), results)
            outcomes.append(outcome.value)
            # Without tests: a put with tests would forget the file attached below.
            _, outcome = store.put_run(spec(job="shared", run_id="contested"))
            outcomes.append(outcome.value)
            _, added = store.attach_junit("shared", "contested", [shared])
            outcomes.append(f"added={added[0]}")
    return outcomes


def _crash_worker(path: str, method: str, statement: str) -> None:
    """Dies (no cleanup, like a kill -9) right after ``statement`` ran inside a write."""
    store = SqliteStore(path)

    def die(sql: str) -> None:
        if sql.lstrip().startswith(statement):
            os._exit(17)

    store.db.conn = Proxy(store.connection, die)  # type: ignore[assignment]
    tests = [tr(f"t{k}", FAILED if k % 7 == 0 else PASSED, message="m") for k in range(500)]
    if method == "put_run":
        store.put_run(spec(job="crash", run_id="1"), tests)
    else:
        store.attach_junit("crash", "1", [attached("f.xml", "c" * 64, tests)])
    os._exit(0)  # the statement never ran: the test then fails on the exit code


def run_processes(target: Callable[..., Any], arg_lists: list[tuple[Any, ...]]) -> list[Any]:
    with SPAWN.Pool(len(arg_lists)) as pool:
        return pool.starmap(target, arg_lists)


# -- open_store and re-exports ----------------------------------------------------------------


def test_open_store_opens_an_absolute_sqlite_path(tmp_path: Path) -> None:
    path = tmp_path / "with space" / "db file.db"
    path.parent.mkdir()
    for url in (f"sqlite://{path}", f"sqlite://{str(path).replace(' ', '%20')}"):
        store = open_store(url)
        try:
            assert isinstance(store, SqliteStore) and store.path == str(path)
            assert store.migrate() >= 1
        finally:
            store.close()


def test_open_store_passes_options_to_the_backend(db_path: Path) -> None:
    store = open_store(f"sqlite://{db_path}", busy_timeout=1.5)
    try:
        assert scalar(store, "PRAGMA busy_timeout") == 1500  # type: ignore[arg-type]
    finally:
        store.close()


def test_open_store_supports_memory_databases() -> None:
    store = open_store("sqlite:///:memory:")
    try:
        store.migrate()
        store.put_run(spec(), [tr("a", FAILED)])
        assert store.get_run_tests("e2e", "1") == [tr("a", FAILED)]
    finally:
        store.close()


def test_open_store_picks_the_bigquery_backend_without_a_request() -> None:
    from api.store.bigquery import BigQueryStore

    # Opening sends nothing (no credentials or network needed): only use does.
    assert isinstance(open_store("bigquery://project/dataset"), BigQueryStore)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://localhost/db",
        "flakegate.db",
        "sqlite://relative.db",
        "sqlite:///",
        "sqlite:///tmp/x.db?mode=ro",
        "",
    ],
)
def test_open_store_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError):
        open_store(url)


def test_the_package_re_exports_the_interface() -> None:
    import api.store as package

    for name in ("Store", "StoreError", "NotFound", "InvalidCursor", "AttachedFile", "RunFilter"):
        assert getattr(package, name) is getattr(store_base, name)
    assert issubclass(SqliteStore, Store)


# -- connection settings ----------------------------------------------------------------------


def test_connections_use_wal_normal_sync_foreign_keys_and_a_busy_timeout(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    assert scalar(sqlite_store, "PRAGMA journal_mode") == "wal"
    assert scalar(sqlite_store, "PRAGMA synchronous") == 1  # NORMAL
    assert scalar(sqlite_store, "PRAGMA foreign_keys") == 1
    assert scalar(sqlite_store, "PRAGMA busy_timeout") == 30_000
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "WAL is in the file"
    finally:
        raw.close()
    with SqliteStore(db_path, busy_timeout=0.25) as other:
        assert scalar(other, "PRAGMA busy_timeout") == 250


def test_opening_neither_migrates_nor_writes(db_path: Path) -> None:
    with SqliteStore(db_path) as fresh:
        assert scalar(fresh, "SELECT count(*) FROM sqlite_master") == 0
        with pytest.raises(StoreError):
            fresh.ping()
        fresh.migrate()
        fresh.ping()
    statements: list[str] = []
    original = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = original(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    sqlite3.connect = traced  # type: ignore[assignment]
    try:
        SqliteStore(db_path).close()
    finally:
        sqlite3.connect = original  # type: ignore[assignment]
    assert statements, "the trace saw the opening pragmas"
    assert all(s.startswith("PRAGMA") for s in statements), statements
    assert not any("journal_mode = WAL" in s for s in statements), "WAL is set once, per file"


def test_ping_raises_store_error_once_closed(db_path: Path) -> None:
    store = SqliteStore(db_path)
    store.migrate()
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StoreError):
        store.ping()


def test_a_store_object_belongs_to_its_thread(sqlite_store: SqliteStore) -> None:
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            sqlite_store.get_job("x")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], sqlite3.ProgrammingError)


def test_a_writer_waits_for_the_lock_within_the_busy_timeout(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        _, outcome = sqlite_store.put_job(JobSpec("waited"))
    finally:
        release.join()
        holder.close()
    assert outcome is WriteOutcome.CREATED


def test_a_writer_gives_up_after_the_busy_timeout_and_writes_nothing(db_path: Path) -> None:
    with SqliteStore(db_path) as setup:
        setup.migrate()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with SqliteStore(db_path, busy_timeout=0.05) as impatient:
            with pytest.raises(StoreUnavailable, match="locked"):
                impatient.put_run(spec(), [tr("a")])
            assert not impatient.connection.in_transaction
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with SqliteStore(db_path) as check:
        assert check.get_job("e2e") is None


# -- migrations -------------------------------------------------------------------------------


def test_migrations_are_versioned_and_applied_once(sqlite_store: SqliteStore) -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions == sorted(set(versions)) and versions[0] == 1
    rows = sqlite_store.connection.execute(
        "SELECT version, name FROM schema_version ORDER BY version"
    ).fetchall()
    assert rows == [(m.version, m.name) for m in migrations]
    assert rows[0] == (1, "initial")
    schema = sqlite_store.connection.execute("SELECT sql FROM sqlite_master").fetchall()
    assert sqlite_store.migrate() == migrations[-1].version
    assert sqlite_store.connection.execute("SELECT sql FROM sqlite_master").fetchall() == schema
    assert (
        sqlite_store.connection.execute("SELECT version, name FROM schema_version").fetchall()
        == rows
    )


def test_a_later_migration_is_applied_once_on_top(sqlite_store: SqliteStore) -> None:
    conn = sqlite_store.connection
    base = load_migrations()
    extra = Migration(
        base[-1].version + 1,
        "labels",
        "CREATE TABLE labels (run_pk INTEGER NOT NULL REFERENCES runs (pk), label TEXT);\n"
        "CREATE TRIGGER labels_trim AFTER INSERT ON labels BEGIN\n"
        "  UPDATE labels SET label = trim(label) WHERE rowid = new.rowid;\n"
        "END;\n",
    )
    assert len(extra.statements()) == 2, "a trigger body stays one statement"
    assert apply_migrations(conn, (*base, extra)) == extra.version
    assert apply_migrations(conn, (*base, extra)) == extra.version
    assert scalar(sqlite_store, "SELECT count(*) FROM schema_version") == len(base) + 1
    with pytest.raises(StoreError, match="newer"):
        sqlite_store.migrate()  # the code knows fewer migrations than the file has


def test_a_failing_migration_is_rolled_back_whole(sqlite_store: SqliteStore) -> None:
    conn = sqlite_store.connection
    base = load_migrations()
    broken = Migration(
        base[-1].version + 1,
        "broken",
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO half_done VALUES (1);\n"
        "ALTER TABLE no_such_table ADD COLUMN y INTEGER;\n",
    )
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(conn, (*base, broken))
    assert not conn.in_transaction
    assert scalar(sqlite_store, "SELECT max(version) FROM schema_version") == base[-1].version
    assert scalar(sqlite_store, "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'") == 0


def test_concurrent_migrations_from_several_processes_agree(db_path: Path) -> None:
    versions = run_processes(_migrate_worker, [(str(db_path),)] * 4)
    latest = load_migrations()[-1].version
    assert versions == [latest] * 4
    with SqliteStore(db_path) as store:
        assert scalar(store, "SELECT count(*) FROM schema_version") == len(load_migrations())
        assert store.integrity_check() == []


# -- concurrency and crashes ------------------------------------------------------------------


def test_concurrent_writers_in_several_processes_lose_nothing(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    writers, runs, tests = 4, 15, 300
    per_writer = run_processes(
        _writer_worker, [(str(db_path), w, runs, tests) for w in range(writers)]
    )
    outcomes = [o for outs in per_writer for o in outs]
    assert outcomes.count("created") == writers * runs + 1
    assert outcomes.count("unchanged") == writers * runs - 1
    assert outcomes.count("added=True") == 1
    assert outcomes.count("added=False") == writers * runs - 1

    store = sqlite_store
    assert scalar(store, "SELECT count(*) FROM runs") == writers * runs + 1
    assert scalar(store, "SELECT count(*) FROM jobs") == 1
    assert scalar(store, "SELECT count(*) FROM tests") == tests
    assert scalar(store, "SELECT count(*) FROM results") == writers * runs * tests + 1
    for w in range(writers):
        for n in range(runs):
            run = store.get_run("shared", f"w{w}-{n}")
            assert run is not None
            failures = len(range(w, tests, 50))
            assert run.counts == RunCounts(total=tests, passed=tests - failures, failed=failures)
    contested = store.get_run("shared", "contested")
    assert contested is not None and len(contested.files) == 1
    assert store.get_run_tests("shared", "contested") == [tr("t0", FAILED)]
    assert store.integrity_check() == []


@pytest.mark.parametrize(
    ("method", "statement"),
    [
        ("put_run", "INSERT INTO results"),
        ("put_run", "INSERT INTO messages"),
        ("put_run", "UPDATE runs SET n_total"),
        ("attach_junit", "INSERT INTO results"),
        ("attach_junit", "INSERT INTO files"),
    ],
)
def test_a_crash_mid_write_leaves_no_partial_run(
    sqlite_store: SqliteStore, db_path: Path, method: str, statement: str
) -> None:
    if method == "attach_junit":
        sqlite_store.put_run(spec(job="crash"), [tr("t1", FAILED)])
    before = sqlite_store.connection.execute(
        "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM runs),"
        " (SELECT count(*) FROM tests), (SELECT count(*) FROM results),"
        " (SELECT count(*) FROM messages), (SELECT count(*) FROM files)"
    ).fetchone()
    child = SPAWN.Process(target=_crash_worker, args=(str(db_path), method, statement))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 17, "the child must die inside the write"

    with SqliteStore(db_path) as after:
        assert after.integrity_check() == []
        counts = after.connection.execute(
            "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM runs),"
            " (SELECT count(*) FROM tests), (SELECT count(*) FROM results),"
            " (SELECT count(*) FROM messages), (SELECT count(*) FROM files)"
        ).fetchone()
        assert counts == before
        if method == "put_run":
            assert after.get_job("crash") is None
        else:
            run = after.get_run("crash", "1")
            assert run is not None and run.files == () and run.counts.total == 1
            assert after.get_run_tests("crash", "1") == [tr("t1", FAILED)]


@pytest.mark.parametrize("statement", ["INSERT INTO results", "INSERT INTO messages"])
def test_an_error_mid_write_rolls_back_and_the_store_stays_usable(
    sqlite_store: SqliteStore, statement: str
) -> None:
    sqlite_store.put_run(spec(run_id="kept"), [tr("a")])
    real = sqlite_store.connection

    def fail(sql: str) -> None:
        if sql.lstrip().startswith(statement):
            raise RuntimeError("disk on fire")

    sqlite_store.db.conn = Proxy(real, fail)  # type: ignore[assignment]
    with pytest.raises(RuntimeError):
        sqlite_store.put_run(spec(job="new"), [tr("a", FAILED, message="m")])
    with pytest.raises(RuntimeError):
        sqlite_store.put_run(spec(run_id="kept"), [tr("b", FAILED, message="m")])
    sqlite_store.db.conn = real
    assert not real.in_transaction
    assert sqlite_store.get_job("new") is None
    assert sqlite_store.get_run_tests("e2e", "kept") == [tr("a")]
    _, outcome = sqlite_store.put_run(spec(job="new"), [tr("a", FAILED, message="m")])
    assert outcome is WriteOutcome.CREATED
    assert sqlite_store.integrity_check() == []


# -- batching, idempotence and storage format -------------------------------------------------


def count_statements(store: SqliteStore, action: Callable[[], object]) -> int:
    calls: list[str] = []
    real = store.connection
    store.db.conn = Proxy(real, calls.append)  # type: ignore[assignment]
    try:
        action()
    finally:
        store.db.conn = real
    return len(calls)


def test_writes_take_the_same_number_of_statements_for_10_or_5000_tests(
    sqlite_store: SqliteStore,
) -> None:
    def tests(n: int, suffix: str = "") -> list[TestResult]:
        return [
            tr(f"t{k}{suffix}", FAILED if k % 3 == 0 else PASSED, message=f"m{k}", duration_s=k)
            for k in range(n)
        ]

    store = sqlite_store
    small = count_statements(store, lambda: store.put_run(spec(run_id="a"), tests(10)))
    large = count_statements(store, lambda: store.put_run(spec(run_id="b"), tests(5000)))
    assert small == large
    small = count_statements(store, lambda: store.put_run(spec(run_id="a"), tests(10, "x")))
    large = count_statements(store, lambda: store.put_run(spec(run_id="b"), tests(5000, "x")))
    assert small == large
    small = count_statements(
        store, lambda: store.attach_junit("e2e", "a", [attached("f", "1" * 64, tests(10, "y"))])
    )
    large = count_statements(
        store, lambda: store.attach_junit("e2e", "b", [attached("f", "1" * 64, tests(5000, "y"))])
    )
    assert small == large


def test_unchanged_writes_write_nothing(sqlite_store: SqliteStore, db_path: Path) -> None:
    store = sqlite_store
    tests = [tr(f"t{k}", FAILED, message="m", duration_s=0.5) for k in range(100)]
    store.put_job(JobSpec("e2e", policy="bayes"))
    store.put_run(spec(payload="p"), tests)
    store.attach_junit("e2e", "1", [attached("f", "a" * 64, [tr("x")])])
    store.put_run(spec(run_id="2"), tests)
    store.put_payload(Payload("p", expected={"e2e": 2}))
    store.checkpoint()
    dump = list(store.connection.iterdump())
    wal = Path(f"{db_path}-wal").stat().st_size
    assert store.put_job(JobSpec("e2e"))[1] is WriteOutcome.UNCHANGED
    assert store.put_run(spec(payload="p"))[1] is WriteOutcome.UNCHANGED
    assert store.put_run(spec(run_id="2"), tests)[1] is WriteOutcome.UNCHANGED
    assert store.attach_junit("e2e", "1", [attached("f", "a" * 64, [tr("x")])])[1] == (False,)
    assert store.put_payload(Payload("p", expected={"e2e": 2}))[1] is WriteOutcome.UNCHANGED
    assert Path(f"{db_path}-wal").stat().st_size == wal, "nothing reached the WAL"
    assert list(store.connection.iterdump()) == dump


def test_results_are_narrow_rows_over_interned_tests(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    tests = [
        tr("a", PASSED, duration_s=1.2346),
        tr("b", FAILED, duration_s=0.0004, message="why"),
        tr("c", SKIPPED),
    ]
    for run_id in ("1", "2", "3"):
        store.put_run(spec(run_id=run_id), tests)
    ddl = scalar(store, "SELECT sql FROM sqlite_master WHERE name = 'results'")
    assert "WITHOUT ROWID" in ddl.upper()
    assert scalar(store, "SELECT count(*) FROM tests") == 3, "names are interned once"
    assert scalar(store, "SELECT count(*) FROM results") == 9
    assert scalar(store, "SELECT count(*) FROM messages") == 3, "only results with a message"
    rows = store.connection.execute(
        "SELECT DISTINCT typeof(run_pk), typeof(test_id), typeof(status), typeof(duration_ms)"
        " FROM results WHERE duration_ms IS NOT NULL"
    ).fetchall()
    assert rows == [("integer", "integer", "integer", "integer")]
    durations = store.connection.execute(
        "SELECT t.name, r.status, r.duration_ms FROM results r JOIN tests t ON t.id = r.test_id"
        " WHERE r.run_pk = (SELECT min(pk) FROM runs) ORDER BY t.name"
    ).fetchall()
    assert durations == [("a", 0, 1235), ("b", 1, 0), ("c", 3, None)]
    assert [t.duration_s for t in store.get_run_tests("e2e", "1")] == [1.235, 0.0, None]


def test_odd_durations_are_stored_as_unknown(sqlite_store: SqliteStore) -> None:
    odd = [float("nan"), float("inf"), float("-inf"), 1e300]
    sqlite_store.put_run(spec(), [tr(f"t{i}", duration_s=d) for i, d in enumerate(odd)])
    assert [t.duration_s for t in sqlite_store.get_run_tests("e2e", "1")] == [None] * len(odd)


def test_times_are_integer_microseconds_utc(sqlite_store: SqliteStore) -> None:
    started = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    sqlite_store.put_run(spec(started_at=started))
    row = sqlite_store.connection.execute(
        "SELECT started_at, typeof(created_at), typeof(updated_at) FROM runs"
    ).fetchone()
    assert row == (1767323045678901, "integer", "integer")


def test_naive_datetimes_are_refused(sqlite_store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_store.put_run(spec(started_at=datetime(2026, 1, 1)))
    with pytest.raises(ValueError, match="naive"):
        sqlite_store.put_payload(Payload("p", deadline=datetime(2026, 1, 1)))
    assert sqlite_store.get_job("e2e") is None


def test_maps_are_stored_as_json_text(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    store.put_job(JobSpec("e2e", variant={"b": "2", "a": "1"}, settings={"n": [1, {"x": None}]}))
    store.put_run(spec(variant={"arch": "arm64"}, metadata={"pull": "12"}))
    store.put_payload(Payload("p", expected={"e2e": 3}))
    conn = store.connection
    assert conn.execute("SELECT variant, settings FROM jobs").fetchone() == (
        '{"a":"1","b":"2"}',
        '{"n":[1,{"x":null}]}',
    )
    assert conn.execute("SELECT variant, metadata FROM runs").fetchone() == (
        '{"arch":"arm64"}',
        '{"pull":"12"}',
    )
    assert conn.execute("SELECT expected FROM payloads").fetchone() == ('{"e2e":3}',)
    assert conn.execute("SELECT count(*) FROM jobs WHERE json_valid(settings)").fetchone() == (1,)


def test_over_long_messages_keep_head_and_tail(sqlite_store: SqliteStore) -> None:
    message = "HEAD" + "x" * (3 * MESSAGE_LIMIT) + "TAIL"
    sqlite_store.put_run(spec(), [tr("t", FAILED, message=message)])
    (stored,) = sqlite_store.get_run_tests("e2e", "1")
    assert stored.message is not None and len(stored.message) <= MESSAGE_LIMIT
    assert stored.message.startswith("HEAD") and stored.message.endswith("TAIL")


def test_names_with_control_characters_round_trip(sqlite_store: SqliteStore) -> None:
    tests = [tr("nul\x00inside"), tr("nul\x00"), tr("tab\tnewline\n", suite="s\x00"), tr("")]
    sqlite_store.put_run(spec(run_id="r\x00"), tests)
    got = sqlite_store.get_run_tests("e2e", "r\x00")
    assert sorted(got, key=lambda t: (t.suite, t.name)) == sorted(
        tests, key=lambda t: (t.suite, t.name)
    )
    assert scalar(sqlite_store, "SELECT count(*) FROM tests") == 4


def test_cursors_are_url_safe_and_opaque(sqlite_store: SqliteStore) -> None:
    for name in ("a/b?c", "ü ü", "x+y"):
        sqlite_store.put_job(JobSpec(name))
        sqlite_store.put_run(spec(job="a/b?c", run_id=name))
    cursors = [
        sqlite_store.list_jobs(limit=1).next_cursor,
        sqlite_store.list_runs("a/b?c", limit=1).next_cursor,
    ]
    for cursor in cursors:
        assert cursor is not None and re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    with pytest.raises(InvalidCursor):
        sqlite_store.list_runs("ü ü", limit=1, cursor=cursors[1])  # another job's cursor


def test_integrity_check_reports_broken_references(sqlite_store: SqliteStore) -> None:
    sqlite_store.put_run(spec(), [tr("a")])
    assert sqlite_store.integrity_check() == []
    conn = sqlite_store.connection
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("INSERT INTO results (run_pk, test_id, status) VALUES (999, 999, 0)")
    conn.execute("PRAGMA foreign_keys = ON")
    problems = sqlite_store.integrity_check()
    assert problems and all("results" in p for p in problems)


def test_checkpoint_empties_the_wal(sqlite_store: SqliteStore, db_path: Path) -> None:
    sqlite_store.put_run(spec(), [tr(f"t{k}") for k in range(2000)])
    assert Path(f"{db_path}-wal").stat().st_size > 0
    sqlite_store.checkpoint()
    assert Path(f"{db_path}-wal").stat().st_size == 0
    assert len(sqlite_store.get_run_tests("e2e", "1")) == 2000


def test_unknown_runs_raise_not_found_before_any_write(sqlite_store: SqliteStore) -> None:
    changes = sqlite_store.connection.total_changes
    with pytest.raises(NotFound):
        sqlite_store.attach_junit("e2e", "1", [attached("f", "b" * 64, [tr("a")])])
    assert sqlite_store.connection.total_changes == changes
    assert scalar(sqlite_store, "SELECT count(*) FROM tests") == 0


def test_tokens_are_upserted_by_hash(sqlite_store: SqliteStore) -> None:
    sqlite_store.add_token("h", Scope.READ, "first")
    sqlite_store.add_token("h", Scope.ADMIN, "bootstrap")
    assert getattr(sqlite_store.find_token("h"), "scope", None) is Scope.ADMIN
    assert scalar(sqlite_store, "SELECT count(*) FROM tokens") == 1


# -- query plans ------------------------------------------------------------------------------


def captured_plans(store: SqliteStore, action: Callable[[], object]) -> dict[str, str]:
    """The query plan of every SELECT the store ran during ``action``."""
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    try:
        action()
    finally:
        store.connection.set_trace_callback(None)
    plans = {}
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            rows = store.connection.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            plans[sql] = "\n".join(row[3] for row in rows)
    return plans


def assert_no_scan(plans: dict[str, str], *tables: str) -> None:
    for sql, plan in plans.items():
        for table in tables:
            assert not re.search(rf"\bSCAN {table}\b", plan), f"{sql}\n{plan}"


def assert_ordered_by_index(plans: dict[str, str]) -> None:
    """Newest-first listing must walk the index backwards, not sort the job's runs."""
    for sql, plan in plans.items():
        if "FROM runs" in sql:
            assert "TEMP B-TREE" not in plan, f"{sql}\n{plan}"


@pytest.fixture
def populated(sqlite_store: SqliteStore) -> SqliteStore:
    store = sqlite_store
    for job in ("e2e-aws", "e2e-gcp", "unit"):
        for n in range(40):
            store.put_run(
                spec(job=job, run_id=str(n), payload=f"p{n % 8}", started_at=datetime.now(UTC)),
                [tr(f"t{k}", FAILED if (n + k) % 13 == 0 else PASSED) for k in range(50)],
            )
    store.connection.execute("ANALYZE")
    return store


def test_runs_of_a_job_for_a_payload_use_the_payload_index(populated: SqliteStore) -> None:
    store = populated
    page = store.list_runs("e2e-aws", where=RunFilter(payload="p3"), limit=2)
    plans = captured_plans(
        store,
        lambda: store.list_runs(
            "e2e-aws", where=RunFilter(payload="p3"), limit=2, cursor=page.next_cursor
        ),
    )
    runs_queries = {sql: plan for sql, plan in plans.items() if "FROM runs" in sql}
    assert runs_queries
    assert_no_scan(plans, "runs", "results", "jobs")
    assert_ordered_by_index(plans)
    assert any("runs_by_job_payload" in plan for plan in runs_queries.values()), runs_queries


def test_the_last_runs_of_a_job_use_the_creation_index(populated: SqliteStore) -> None:
    store = populated
    page = store.list_runs("e2e-aws", limit=5)
    plans = captured_plans(
        store, lambda: store.list_runs("e2e-aws", limit=5, cursor=page.next_cursor)
    )
    runs_queries = {sql: plan for sql, plan in plans.items() if "FROM runs" in sql}
    assert_no_scan(plans, "runs", "results", "jobs")
    assert_ordered_by_index(plans)
    assert any("runs_by_job_created" in plan for plan in runs_queries.values()), runs_queries


def test_results_of_selected_runs_are_read_by_primary_key(populated: SqliteStore) -> None:
    store = populated
    conn = store.connection
    job_id = conn.execute("SELECT id FROM jobs WHERE name = 'e2e-aws'").fetchone()[0]
    queries = {
        # The history a baseline or verdict reads: results of one payload's runs of a job,
        # and of a job's last N runs.
        "payload": (
            "SELECT r.test_id, r.status FROM runs AS u JOIN results AS r ON r.run_pk = u.pk"
            " WHERE u.job_id = ? AND u.payload = ?",
            (job_id, "p3"),
        ),
        "last": (
            "SELECT r.test_id, r.status FROM (SELECT pk FROM runs WHERE job_id = ?"
            " ORDER BY created_at DESC, pk DESC LIMIT ?) AS u"
            " JOIN results AS r ON r.run_pk = u.pk",
            (job_id, 10),
        ),
    }
    for sql, params in queries.values():
        plan = "\n".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert not re.search(r"\bSCAN (runs|results|r)\b", plan), plan
        assert "TEMP B-TREE" not in plan, plan
    plans = {
        **captured_plans(store, lambda: store.get_run("e2e-aws", "7")),
        **captured_plans(store, lambda: store.get_run_tests("e2e-aws", "7")),
    }
    assert_no_scan(plans, "runs", "results", "jobs", "r", "m")


def test_merging_a_file_into_a_large_run_looks_up_by_key(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    tests = [tr(f"t{k}", FAILED if k % 5 == 0 else PASSED, message="m") for k in range(500)]
    store.put_run(spec(), tests)
    retry = attached("retry.xml", "r" * 64, [tr(f"t{k}", PASSED) for k in range(0, 500, 5)])
    plans = captured_plans(store, lambda: store.attach_junit("e2e", "1", [retry]))
    for sql, plan in plans.items():
        # Only the outermost loop (the incoming names or ids) may be a scan.
        inner = plan.splitlines()[1:]
        assert not any(line.startswith("SCAN") for line in inner), f"{sql}\n{plan}"
    assert store.get_run("e2e", "1").counts == RunCounts(total=500, passed=400, flaked=100)  # type: ignore[union-attr]


# -- size -------------------------------------------------------------------------------------


def fill_history(store: SqliteStore, runs: int, tests: int, seed: int = 7) -> int:
    """Realistic e2e history: long test names, mostly passes and skips, a few failures."""
    rng = random.Random(seed)
    names = [
        f"[It] [sig-{rng.choice(['node', 'network', 'storage', 'apps', 'cli'])}] "
        f"Feature {k // 40} should behave correctly in scenario {k} [Conformance]"
        for k in range(tests)
    ]
    flaky = set(rng.sample(range(tests), tests // 100))
    stored = 0
    for n in range(runs):
        results = []
        for k, name in enumerate(names):
            if k % 3 == 0:
                status, duration, message = SKIPPED, 0.0, None
            elif k in flaky and rng.random() < 0.3:
                status, duration, message = FAILED, rng.uniform(1, 600), f"timed out: {k}"
            else:
                status, duration, message = PASSED, rng.lognormvariate(1.5, 1.2), None
            results.append(TestResult(name, "Kubernetes e2e suite", status, duration, message))
        store.put_run(
            spec(job=f"e2e-{n % 4}", run_id=f"{1_800_000_000_000_000_000 + n}", payload=f"p{n}"),
            results,
        )
        stored += len(results)
    return stored


def bytes_per_result(store: SqliteStore, db_path: Path, results: int) -> float:
    store.checkpoint()
    assert Path(f"{db_path}-wal").stat().st_size == 0
    return db_path.stat().st_size / results


@pytest.mark.slow
def test_storage_per_result_is_at_most_40_bytes_at_one_million(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    started = time.perf_counter()
    results = fill_history(sqlite_store, runs=200, tests=5000)
    assert results == 1_000_000
    per_result = bytes_per_result(sqlite_store, db_path, results)
    print(
        f"\n{per_result:.1f} bytes per stored result at {results:,} results"
        f" ({db_path.stat().st_size / 2**20:.1f} MiB, {time.perf_counter() - started:.0f} s)"
    )
    assert per_result <= 40
    assert sqlite_store.integrity_check() == []
