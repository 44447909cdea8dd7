"""Appends through the BigQuery Storage Write API: no load job per write.

BigQuery allows 1,500 load jobs per table per day; a busy CI writes tens of thousands of runs
a day. :func:`StreamWriter.append` writes a batch of rows through one **PENDING** stream:

1. ``CreateWriteStream`` (type PENDING): rows appended to it stay invisible;
2. ``AppendRows`` in requests of at most :data:`MAX_REQUEST_BYTES`, each with its **offset**
   (a request re-sent after a lost answer is refused as ``ALREADY_EXISTS`` instead of being
   written twice: exactly once);
3. ``FinalizeWriteStream`` and ``BatchCommitWriteStreams``: every row becomes visible at once.

So an append is all-or-nothing, like the load job it replaces: a failure before the commit
leaves nothing visible (BigQuery discards uncommitted pending streams), and the store's callers
still write under a fresh generation that only a later compare-and-set flip makes readable.

Rows are protocol buffers built from the table's schema (:mod:`api.store.bigquery.schema`):
TIMESTAMP as INT64 microseconds and DATE as INT32 days since the epoch, the encodings the
Storage Write API documents.

``FLAKEGATE_BIGQUERY_WRITE_ENDPOINT=HOST:PORT`` points the write client at another gRPC endpoint
(the local emulator) over plaintext with anonymous credentials, as ``FLAKEGATE_BIGQUERY_ENDPOINT``
does for the REST client. ``FLAKEGATE_BIGQUERY_WRITES=load`` keeps the former load jobs (for an
endpoint that only speaks REST); it is also what an endpoint override without a write endpoint
means.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from api.store.base import StoreError, StoreUnavailable
from api.store.bigquery.schema import BY_NAME

WRITE_ENDPOINT_ENV = "FLAKEGATE_BIGQUERY_WRITE_ENDPOINT"
WRITES_ENV = "FLAKEGATE_BIGQUERY_WRITES"
STORAGE, LOAD = "storage", "load"
# BigQuery refuses AppendRows requests over 10 MB; the rest is room for the schema and framing.
MAX_REQUEST_BYTES = 8 * 1024 * 1024
# Re-opened AppendRows connections after a transient failure, before giving up (503).
MAX_RECONNECTS = 4
_EPOCH_DAY = date(1970, 1, 1).toordinal()
# google.rpc.Code values of an AppendRows answer (googleapis' module ships no type hints).
_ALREADY_EXISTS = 6
_TRANSIENT = frozenset({4, 8, 10, 13, 14})  # deadline, exhausted, aborted, internal, unavailable


def write_mode(rest: str) -> str:
    """``storage`` or ``load``: the explicit setting, else storage unless the REST endpoint is
    overridden (``rest``) without a gRPC one (an emulator may not serve the Storage Write API)."""
    explicit = os.environ.get(WRITES_ENV, "").strip().lower()
    grpc_endpoint = os.environ.get(WRITE_ENDPOINT_ENV, "").strip()
    if explicit not in ("", STORAGE, LOAD):
        raise StoreError(f"{WRITES_ENV} must be {STORAGE!r} or {LOAD!r}, not {explicit!r}")
    if explicit == STORAGE and rest and not grpc_endpoint:
        raise StoreError(f"{WRITES_ENV}=storage with an endpoint override needs "
                         f"{WRITE_ENDPOINT_ENV} (the endpoint's Storage Write API, HOST:PORT)")
    if explicit:
        return explicit
    return LOAD if rest and not grpc_endpoint else STORAGE


class RowCodec:
    """Serialises rows of one table as protocol buffers (proto2, every field optional: a
    ``None`` is an absent field, which BigQuery stores as NULL)."""

    def __init__(self, table: str) -> None:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        spec = BY_NAME[table]
        field = descriptor_pb2.FieldDescriptorProto
        types = {"STRING": field.TYPE_STRING, "INT64": field.TYPE_INT64,
                 "FLOAT64": field.TYPE_DOUBLE, "BOOL": field.TYPE_BOOL,
                 "TIMESTAMP": field.TYPE_INT64, "DATE": field.TYPE_INT32}
        self.descriptor = descriptor_pb2.DescriptorProto(name=f"flakegate_{table}")
        for number, (name, type_, _) in enumerate(spec.columns, start=1):
            self.descriptor.field.add(name=name, number=number, type=types[type_],
                                      label=field.LABEL_OPTIONAL)
        file = descriptor_pb2.FileDescriptorProto(name=f"flakegate_{table}.proto",
                                                  syntax="proto2")
        file.message_type.add().CopyFrom(self.descriptor)
        pool = descriptor_pool.DescriptorPool()
        pool.Add(file)
        self._message = message_factory.GetMessageClass(
            pool.FindMessageTypeByName(self.descriptor.name))
        self._convert: dict[str, Callable[[Any], Any]] = {
            name: {"TIMESTAMP": _micros, "DATE": _days}.get(type_, _same)
            for name, type_, _ in spec.columns}

    def encode(self, row: Mapping[str, Any]) -> bytes:
        message = self._message()
        for name, value in row.items():
            if value is not None:
                try:
                    setattr(message, name, self._convert[name](value))
                except KeyError:
                    raise StoreError(f"no column {name!r} in {self.descriptor.name}") from None
        data: bytes = message.SerializeToString()
        return data


def _same(value: Any) -> Any:
    return value


def _micros(value: datetime | str) -> int:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _days(value: date | str) -> int:
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return day.toordinal() - _EPOCH_DAY


_CODECS: dict[str, RowCodec] = {}
_CLIENTS: dict[tuple[int, str], Any] = {}
_GUARD = threading.Lock()


def codec(table: str) -> RowCodec:
    with _GUARD:
        if table not in _CODECS:
            _CODECS[table] = RowCodec(table)
        return _CODECS[table]


def make_write_client() -> Any:
    """The process's ``BigQueryWriteClient`` (one gRPC channel, shared by threads; a forked
    worker makes its own, since gRPC channels do not survive a fork)."""
    endpoint = os.environ.get(WRITE_ENDPOINT_ENV, "").strip()
    key = (os.getpid(), endpoint)
    with _GUARD:
        if key not in _CLIENTS:
            from google.cloud.bigquery_storage_v1 import BigQueryWriteClient

            if endpoint:
                import grpc
                from google.cloud.bigquery_storage_v1.services.big_query_write.transports import (
                    BigQueryWriteGrpcTransport,
                )

                transport = BigQueryWriteGrpcTransport(channel=grpc.insecure_channel(endpoint))
                _CLIENTS[key] = BigQueryWriteClient(transport=transport)
            else:
                import google.auth

                credentials, _ = google.auth.default(
                    scopes=["https://www.googleapis.com/auth/bigquery"])
                _CLIENTS[key] = BigQueryWriteClient(credentials=credentials)
        return _CLIENTS[key]


def batches(rows: Sequence[bytes], limit: int = MAX_REQUEST_BYTES) -> list[list[bytes]]:
    """Serialised rows cut into consecutive requests of at most ``limit`` bytes of rows (a
    single larger row goes alone, and BigQuery will refuse it)."""
    out: list[list[bytes]] = []
    size = limit
    for row in rows:
        if size + len(row) > limit and (not out or out[-1]):
            out.append([])
            size = 0
        out[-1].append(row)
        size += len(row)
    return [batch for batch in out if batch]


class StreamWriter:
    """Atomic appends to the tables of one dataset through PENDING write streams."""

    def __init__(self, project: str, dataset: str, deadline: float,
                 client: Any = None, request_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.project = project
        self.dataset = dataset
        self.deadline = deadline
        self.request_bytes = request_bytes
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_write_client()
        return self._client

    def append(self, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append ``rows`` to ``table``, all visible at once or none; returns their number."""
        from google.api_core import exceptions

        row_codec = codec(table)
        encoded = [row_codec.encode(row) for row in rows]
        if not encoded:
            return 0
        parent = f"projects/{self.project}/datasets/{self.dataset}/tables/{table}"
        try:
            name = self._create(parent)
            self._append_all(name, row_codec, batches(encoded, self.request_bytes))
            self._commit(parent, name)
        except (exceptions.RetryError, exceptions.ServiceUnavailable,
                exceptions.DeadlineExceeded, exceptions.InternalServerError,
                exceptions.TooManyRequests, exceptions.ResourceExhausted) as exc:
            raise StoreUnavailable(f"BigQuery write into {table} failed: {exc}") from exc
        except exceptions.GoogleAPICallError as exc:
            raise StoreError(f"BigQuery write into {table} failed: {exc}") from exc
        return len(encoded)

    def _retry(self) -> Any:
        from google.api_core import exceptions, retry

        return retry.Retry(predicate=retry.if_exception_type(
            exceptions.ServiceUnavailable, exceptions.DeadlineExceeded,
            exceptions.TooManyRequests), deadline=self.deadline)

    def _create(self, parent: str) -> str:
        from google.cloud.bigquery_storage_v1 import types

        stream = self.client.create_write_stream(
            parent=parent, write_stream=types.WriteStream(type_=types.WriteStream.Type.PENDING),
            retry=self._retry(), timeout=self.deadline)
        return str(stream.name)

    def _append_all(self, name: str, row_codec: RowCodec, parts: list[list[bytes]]) -> None:
        """Send every part at its offset; after a broken connection, re-send from the first
        part not acknowledged (an acknowledged one answers ALREADY_EXISTS: written once)."""
        from google.api_core import exceptions

        offsets = [0]
        for part in parts:
            offsets.append(offsets[-1] + len(part))
        done = 0
        for attempt in range(MAX_RECONNECTS + 1):
            try:
                for index, response in enumerate(self._send(name, row_codec, parts, offsets,
                                                            done), start=done):
                    _check_append(response, offsets[index])
                    done = index + 1
                if done < len(parts):
                    raise exceptions.ServiceUnavailable("AppendRows ended early")
                return
            except (exceptions.ServiceUnavailable, exceptions.DeadlineExceeded,
                    exceptions.Aborted):
                if attempt == MAX_RECONNECTS:
                    raise
                time.sleep(min(2.0, 0.1 * 2**attempt))

    def _send(self, name: str, row_codec: RowCodec, parts: list[list[bytes]],
              offsets: list[int], start: int) -> Iterator[Any]:
        from google.cloud.bigquery_storage_v1 import types
        from google.protobuf import wrappers_pb2

        def requests() -> Iterator[Any]:
            for index in range(start, len(parts)):
                data = types.AppendRowsRequest.ProtoData(
                    rows=types.ProtoRows(serialized_rows=parts[index]))
                if index == start:  # the schema travels once per connection
                    data.writer_schema = types.ProtoSchema(
                        proto_descriptor=row_codec.descriptor)
                # The stream on every request: the emulator binds each request by it.
                yield types.AppendRowsRequest(
                    write_stream=name, offset=wrappers_pb2.Int64Value(value=offsets[index]),
                    proto_rows=data)

        return iter(self.client.append_rows(requests=requests(), timeout=self.deadline))

    def _commit(self, parent: str, name: str) -> None:
        from google.cloud.bigquery_storage_v1 import types

        self.client.finalize_write_stream(name=name, retry=self._retry(), timeout=self.deadline)
        # Not retried: a commit whose answer was lost may have happened. The rows then sit
        # unreferenced under a generation nobody flips to, as after a crash.
        response = self.client.batch_commit_write_streams(
            request=types.BatchCommitWriteStreamsRequest(parent=parent, write_streams=[name]),
            timeout=self.deadline)
        if response.stream_errors or not response.commit_time:
            raise StoreError("BigQuery refused to commit the write stream: "
                             + "; ".join(e.error_message for e in response.stream_errors))


def _check_append(response: Any, offset: int) -> None:
    from google.api_core import exceptions

    code = response.error.code
    if code == _ALREADY_EXISTS:  # this offset was written by a re-sent request: once
        return
    if code in _TRANSIENT:
        raise exceptions.ServiceUnavailable(response.error.message)  # reconnect, re-send
    if code != 0:
        raise StoreError(f"BigQuery refused rows at offset {offset}: {response.error.message}")
    if response.row_errors:
        raise StoreError("BigQuery refused rows: " + "; ".join(
            f"row {e.index}: {e.message}" for e in response.row_errors))
