"""Run writes through the Storage Write API (api/store/bigquery/streams.py) on the emulator:
no load job, all-or-nothing when a write fails between its parts, exactly once when an
acknowledgement is lost, and the encodings and settings on their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from google.api_core import exceptions

from api.domain import JunitFile, RunSpec, RunStatus, TestResult, TestStatus, WriteOutcome
from api.store import StoreError, StoreUnavailable, open_store
from api.store.base import AttachedFile
from api.store.bigquery import BigQueryStore
from api.store.bigquery.streams import (
    LOAD,
    STORAGE,
    RowCodec,
    StreamWriter,
    batches,
    write_mode,
)

pytestmark = pytest.mark.slow

TESTS = [TestResult(f"test {i:03d}", "suite", TestStatus.FAILED if i % 7 == 0
                    else TestStatus.PASSED, 0.25, f"message {i}") for i in range(60)]
NEW = [TestResult(f"test {i:03d}", "suite", TestStatus.PASSED) for i in range(40)]


def _store(bq_url: str, request_bytes: int = 600) -> BigQueryStore:
    """A migrated store whose appends are cut into requests of ``request_bytes`` bytes of rows
    (about 10 results each), so that a write has parts to fail between."""
    store = open_store(bq_url)
    assert isinstance(store, BigQueryStore)
    store.migrate()
    store._conn.streams.request_bytes = request_bytes
    return store


def _result_rows(store: BigQueryStore, job: str) -> int:
    c = store._conn
    return int(c.rows(f"SELECT COUNT(*) FROM {c.table('results')} WHERE job = @job",
                      job=job)[0][0])


class _Counting:
    """Counts the calls a wrapped client receives, by method name."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


def test_run_writes_use_write_streams_and_no_load_job(bq_url: str) -> None:
    store = _store(bq_url)
    assert store._conn.writes == STORAGE
    rest, grpc = _Counting(store._conn.client), _Counting(store._conn.streams.client)
    store._conn.client, store._conn.streams._client = rest, grpc
    store.put_run(RunSpec("j", "1", RunStatus.FAILURE), TESTS)
    store.put_run(RunSpec("j", "1", RunStatus.FAILURE), TESTS)  # a re-send: nothing written
    store.attach_junit("j", "1", [AttachedFile(JunitFile("more.xml", "0" * 64, 1), (
        TestResult("extra", "other", TestStatus.PASSED),))])
    assert "load_table_from_file" not in rest.calls
    # One stream per run write, committed; 61 rows in 600-byte parts take several requests.
    assert grpc.calls["create_write_stream"] == 2
    assert grpc.calls["batch_commit_write_streams"] == 2
    assert grpc.calls["append_rows"] == 2
    assert len(store.get_run_tests("j", "1")) == 61


def test_a_failure_between_parts_of_a_new_run_leaves_no_run(bq_url: str) -> None:
    store = _store(bq_url)
    writer = store._conn.streams
    real = writer.client.append_rows

    connections: list[int] = []

    def broken_after_first_part(requests: Iterator[Any], **kwargs: Any) -> Iterator[Any]:
        connections.append(1)
        if len(connections) == 1:  # the first part gets through, then the network is gone
            yield next(iter(real(requests=requests, **kwargs)))
        raise exceptions.ServiceUnavailable("connection reset")

    writer._client = _Patched(writer.client, append_rows=broken_after_first_part)
    with pytest.raises(StoreUnavailable):
        store.put_run(RunSpec("j", "1", RunStatus.FAILURE), TESTS)
    assert len(connections) > 1  # it reconnected, and gave up
    assert store.get_run("j", "1") is None
    assert _result_rows(store, "j") == 0  # the part sent sits in a stream never committed

    writer._client = None  # the connection is back: the client's re-send writes it once
    run, outcome = store.put_run(RunSpec("j", "1", RunStatus.FAILURE), TESTS)
    assert outcome is WriteOutcome.CREATED and run.counts.total == 60
    assert store.get_run_tests("j", "1") == sorted(TESTS, key=lambda t: (t.suite, t.name))
    assert _result_rows(store, "j") == 60


def test_a_failure_at_the_commit_keeps_the_old_tests(bq_url: str) -> None:
    store = _store(bq_url)
    store.put_run(RunSpec("j", "1", RunStatus.FAILURE), TESTS)
    writer = store._conn.streams

    def refused(**kwargs: Any) -> Any:
        raise exceptions.ServiceUnavailable("commit lost")

    writer._client = _Patched(writer.client, batch_commit_write_streams=refused)
    with pytest.raises(StoreUnavailable):
        store.put_run(RunSpec("j", "1", RunStatus.SUCCESS), NEW)
    run = store.get_run("j", "1")
    assert run is not None and run.spec.status is RunStatus.FAILURE and run.counts.total == 60
    assert len(store.get_run_tests("j", "1")) == 60
    assert _result_rows(store, "j") == 60  # the new generation was never committed

    writer._client = None
    _, outcome = store.put_run(RunSpec("j", "1", RunStatus.SUCCESS), NEW)
    assert outcome is WriteOutcome.UPDATED
    assert store.get_run_tests("j", "1") == NEW


def test_a_failure_between_the_commit_and_the_flip_keeps_the_old_tests(
        bq_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(bq_url)
    store.put_run(RunSpec("j", "1", RunStatus.FAILURE), TESTS)

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise StoreUnavailable("the process died before the flip")

    with monkeypatch.context() as patch:
        patch.setattr(store._runs, "_commit_run", crash)
        with pytest.raises(StoreUnavailable):
            store.put_run(RunSpec("j", "1", RunStatus.SUCCESS), NEW)
    # The committed generation is unreferenced: readers still get the old tests only.
    assert len(store.get_run_tests("j", "1")) == 60
    assert _result_rows(store, "j") == 100
    _, outcome = store.put_run(RunSpec("j", "1", RunStatus.SUCCESS), NEW)
    assert outcome is WriteOutcome.UPDATED and store.get_run_tests("j", "1") == NEW


def test_a_lost_acknowledgement_is_resent_and_written_once(bq_url: str) -> None:
    store = _store(bq_url)
    writer = store._conn.streams
    real = writer.client.append_rows
    connections: list[int] = []

    def lossy(requests: Iterator[Any], **kwargs: Any) -> Iterator[Any]:
        connections.append(1)
        responses = real(requests=requests, **kwargs)
        if len(connections) == 1:
            for _ in responses:  # every part reached BigQuery...
                pass
            raise exceptions.ServiceUnavailable("...but the answers were lost")
        yield from responses

    writer._client = _Patched(writer.client, append_rows=lossy)
    run, _ = store.put_run(RunSpec("j", "1", RunStatus.FAILURE), TESTS)
    assert len(connections) == 2  # re-sent at the same offsets: ALREADY_EXISTS, not twice
    assert run.counts.total == 60 and _result_rows(store, "j") == 60
    assert len(store.get_run_tests("j", "1")) == 60


def test_the_load_setting_writes_with_load_jobs(bq_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAKEGATE_BIGQUERY_WRITES", "load")
    store = _store(bq_url)
    assert store._conn.writes == LOAD
    rest = _Counting(store._conn.client)
    store._conn.client = rest
    store.put_run(RunSpec("j", "1", RunStatus.FAILURE), TESTS)
    assert rest.calls["load_table_from_file"] == 1
    assert len(store.get_run_tests("j", "1")) == 60


class _Patched:
    """A client with some methods replaced."""

    def __init__(self, client: Any, **methods: Any) -> None:
        self._client = client
        self._methods = methods

    def __getattr__(self, name: str) -> Any:
        return self._methods.get(name) or getattr(self._client, name)


# --- the pieces on their own (no emulator) ---


@pytest.mark.parametrize(("env", "mode"), [
    ({}, STORAGE),
    ({"FLAKEGATE_BIGQUERY_WRITES": "load"}, LOAD),
    ({"FLAKEGATE_BIGQUERY_ENDPOINT": "http://127.0.0.1:1"}, LOAD),
    ({"FLAKEGATE_BIGQUERY_ENDPOINT": "http://127.0.0.1:1",
      "FLAKEGATE_BIGQUERY_WRITE_ENDPOINT": "127.0.0.1:2"}, STORAGE),
    ({"FLAKEGATE_BIGQUERY_ENDPOINT": "http://127.0.0.1:1",
      "FLAKEGATE_BIGQUERY_WRITE_ENDPOINT": "127.0.0.1:2",
      "FLAKEGATE_BIGQUERY_WRITES": "LOAD"}, LOAD),
])
def test_the_write_mode(env: dict[str, str], mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FLAKEGATE_BIGQUERY_ENDPOINT", "FLAKEGATE_BIGQUERY_WRITE_ENDPOINT",
                 "FLAKEGATE_BIGQUERY_WRITES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert write_mode(os.environ.get("FLAKEGATE_BIGQUERY_ENDPOINT", "")) == mode


@pytest.mark.parametrize("env", [
    {"FLAKEGATE_BIGQUERY_WRITES": "streaming"},
    {"FLAKEGATE_BIGQUERY_WRITES": "storage", "FLAKEGATE_BIGQUERY_ENDPOINT": "http://x:1"},
])
def test_bad_write_settings_are_refused_when_opening(env: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLAKEGATE_BIGQUERY_WRITE_ENDPOINT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StoreError, match="FLAKEGATE_BIGQUERY_WRITE"):
        open_store("bigquery://project/dataset")


def test_rows_are_encoded_as_the_storage_write_api_documents() -> None:
    from google.protobuf import descriptor_pool, message_factory
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

    row_codec = RowCodec("results")
    data = row_codec.encode({"job": "j", "run_id": "1", "gen": 7, "run_day": "1970-01-03",
                             "suite": "s", "name": "n", "status": 1, "duration_ms": None,
                             "message": "ü", "informing": True})
    file = FileDescriptorProto(name="check.proto", syntax="proto2")
    file.message_type.add().CopyFrom(row_codec.descriptor)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    message = message_factory.GetMessageClass(
        pool.FindMessageTypeByName(row_codec.descriptor.name))()
    message.ParseFromString(data)
    assert message.run_day == 2 and message.message == "ü" and message.informing
    assert not message.HasField("duration_ms")  # NULL
    moment = datetime(2026, 12, 1, 12, 0, 0, 5, tzinfo=UTC)
    stamp = RowCodec("leases").encode({"name": "n", "holder": "h", "expires_at": moment})
    assert stamp == RowCodec("leases").encode({"name": "n", "holder": "h",
                                                "expires_at": moment.isoformat()})
    with pytest.raises(StoreError, match="no column"):
        row_codec.encode({"nope": 1})
    assert date(1970, 1, 3).toordinal() - date(1970, 1, 1).toordinal() == message.run_day


def test_rows_are_cut_into_requests_under_the_size_limit() -> None:
    rows = [b"x" * 40, b"y" * 40, b"z" * 150, b"w" * 10]
    assert batches(rows, 100) == [[rows[0], rows[1]], [rows[2]], [rows[3]]]
    assert batches([], 100) == []
    assert sum(len(part) for part in batches([b"r"] * 1000, 64)) == 1000


def test_an_empty_append_sends_nothing() -> None:
    class Nothing:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"{name} called")

    assert StreamWriter("p", "d", 1.0, client=Nothing()).append("results", []) == 0
