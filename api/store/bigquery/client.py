"""The BigQuery connection of the store: client construction, parameterised queries, loads.

Credentials come from ``google.auth.default()`` (service account key, workload identity,
``gcloud auth application-default login``), except that ``FLAKEGATE_BIGQUERY_ENDPOINT`` points
the client at another endpoint (the local emulator) with anonymous credentials.

Every query is parameterised (values never enter SQL text). Transient failures are retried by
the client with a bounded deadline (the client's default keeps retrying 5xx for 600 s, which
would hold an API request for ten minutes); a deadline exhausted becomes
:class:`~api.store.base.StoreUnavailable` so the API answers 503.
"""

from __future__ import annotations

import io
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from api.store.base import StoreError, StoreUnavailable
from api.store.bigquery.streams import LOAD, StreamWriter, write_mode

ENDPOINT_ENV = "FLAKEGATE_BIGQUERY_ENDPOINT"
DEFAULT_DEADLINE = 60.0
MAX_ATTEMPTS = 8
T = TypeVar("T")

# One lock per dataset and process: writes of one process are serialised (BigQuery would
# otherwise abort concurrent DML on one table and make us retry); across processes the
# compare-and-set MERGEs of the store keep writes correct.
_LOCKS: dict[tuple[str, str, str], threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def dataset_lock(endpoint: str, project: str, dataset: str) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((endpoint, project, dataset), threading.RLock())


class Typed:
    """A query parameter value with an explicit BigQuery type (needed for NULLs and arrays)."""

    __slots__ = ("type", "value")

    def __init__(self, type_: str, value: Any) -> None:
        self.type = type_
        self.value = value


def _scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, str):
        return "STRING"
    raise TypeError(f"no BigQuery parameter type for {type(value).__name__}; use Typed")


def make_client(project: str) -> Any:
    """A ``bigquery.Client`` for ``project``: default credentials, or the emulator endpoint."""
    from google.cloud import bigquery

    endpoint = os.environ.get(ENDPOINT_ENV, "").strip()
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                               client_options={"api_endpoint": endpoint})
    import google.auth

    credentials, _ = google.auth.default(
        scopes=["https://www.googleapis.com/auth/bigquery"])
    return bigquery.Client(project=project, credentials=credentials)


class Connection:
    """A client bound to one dataset, with bounded retries and typed parameters."""

    def __init__(self, project: str, dataset: str, *, client: Any = None,
                 deadline: float = DEFAULT_DEADLINE) -> None:
        from google.cloud import bigquery

        self.project = project
        self.dataset = dataset
        self.deadline = deadline
        self._client = client  # made on first use: opening a store sends nothing anywhere
        self.lock = dataset_lock(os.environ.get(ENDPOINT_ENV, ""), project, dataset)
        self._bq = bigquery
        self._retry = bigquery.DEFAULT_RETRY.with_deadline(deadline)
        self.writes = write_mode(os.environ.get(ENDPOINT_ENV, "").strip())
        self.streams = StreamWriter(project, dataset, deadline)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.project)
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = value

    def table(self, name: str) -> str:
        """The fully qualified, quoted table name for SQL text (names are ours, not input)."""
        return f"`{self.project}.{self.dataset}.{name}`"

    def table_id(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    def _parameters(self, params: Mapping[str, Any]) -> list[Any]:
        bq = self._bq
        out: list[Any] = []
        for name, value in params.items():
            if isinstance(value, Typed):
                if value.type.startswith("ARRAY<"):
                    out.append(bq.ArrayQueryParameter(name, value.type[6:-1], list(value.value)))
                else:
                    out.append(bq.ScalarQueryParameter(name, value.type, value.value))
            elif isinstance(value, list | tuple):
                raise TypeError(f"array parameter {name!r} needs Typed('ARRAY<T>', ...)")
            else:
                out.append(bq.ScalarQueryParameter(name, _scalar_type(value), value))
        return out

    def _job(self, sql: str, params: Mapping[str, Any]) -> Any:
        """Run one statement with ``query_and_wait`` (the ``jobs.query`` API: one round trip
        for a short query instead of insert-then-poll; half the latency on the emulator)."""
        from google.api_core import exceptions

        config = self._bq.QueryJobConfig(query_parameters=self._parameters(params))
        try:
            return self.client.query_and_wait(sql, job_config=config, retry=self._retry,
                                              job_retry=None, api_timeout=self.deadline,
                                              wait_timeout=self.deadline)
        except (exceptions.RetryError, exceptions.ServiceUnavailable,
                exceptions.InternalServerError, exceptions.TooManyRequests) as exc:
            raise StoreUnavailable(f"BigQuery did not answer in time: {exc}") from exc
        except TimeoutError as exc:  # concurrent.futures.TimeoutError is TimeoutError
            raise StoreUnavailable(f"BigQuery query timed out: {exc}") from exc
        except exceptions.GoogleAPICallError as exc:
            if _is_conflict(exc):
                raise Conflict(str(exc)) from exc
            raise StoreError(f"BigQuery query failed: {exc}") from exc

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as tuples."""
        return [tuple(row.values()) for row in self._job(sql, params)]

    def execute(self, sql: str, **params: Any) -> int:
        """Run a DML/DDL statement; returns the number of rows it changed (0 for DDL)."""
        job = self._job(sql, params)
        return int(job.num_dml_affected_rows or 0)

    def append(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append rows, all visible at once or none, without a load job: one committed
        PENDING stream of the Storage Write API (:mod:`api.store.bigquery.streams`). Every
        write of the store goes through here; ``FLAKEGATE_BIGQUERY_WRITES=load`` makes it a
        load job again."""
        if self.writes == LOAD:
            self.load(table, rows)
        else:
            self.streams.append(table, rows)

    def load(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append rows with a load job (NDJSON, resumable upload): for bulk copies (the
        export), where one job per call is right; the store's writes use :meth:`append`.

        A load job rather than streaming inserts: streamed rows sit in a buffer where real
        BigQuery forbids UPDATE/DELETE for up to 30 minutes, and we delete superseded result
        generations. ``size=`` is not passed: the emulator only accepts resumable uploads.
        """
        from google.api_core import exceptions

        body = "\n".join(json.dumps(row, ensure_ascii=False, separators=(",", ":"),
                                    default=_json_default) for row in rows).encode()
        if not body:
            return
        config = self._bq.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON",
                                        write_disposition="WRITE_APPEND")
        try:
            job = self.client.load_table_from_file(io.BytesIO(body), self.table_id(table),
                                                   job_config=config, rewind=True,
                                                   timeout=self.deadline)
            job.result(retry=self._retry, timeout=self.deadline)
        except (exceptions.RetryError, exceptions.ServiceUnavailable,
                exceptions.InternalServerError, TimeoutError) as exc:
            raise StoreUnavailable(f"BigQuery load into {table} failed: {exc}") from exc
        except exceptions.GoogleAPICallError as exc:
            raise StoreError(f"BigQuery load into {table} failed: {exc}") from exc


class Conflict(StoreError):
    """A concurrent DML statement touched the same table; the caller re-reads and retries."""


def retrying(conn: Connection, attempt: Callable[[], T | None]) -> T:
    """Run ``attempt()`` under the dataset lock until its compare-and-set wins (it returns
    ``None`` or raises :class:`Conflict` when another writer won: re-read and retry)."""
    for tries in range(MAX_ATTEMPTS):
        with conn.lock:
            try:
                result = attempt()
            except Conflict:
                result = None
        if result is not None:
            return result
        time.sleep(min(2.0, 0.05 * 2**tries) * random.random())
    raise StoreError("gave up after repeated concurrent updates; retry later")


def _is_conflict(exc: Exception) -> bool:
    text = str(exc).lower()
    return "concurrent update" in text or "could not serialize" in text or "conflict" in text


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def strings(values: Sequence[str]) -> Typed:
    return Typed("ARRAY<STRING>", list(values))


def ints(values: Sequence[int]) -> Typed:
    return Typed("ARRAY<INT64>", list(values))


def dates(values: Sequence[date]) -> Typed:
    return Typed("ARRAY<DATE>", list(values))
