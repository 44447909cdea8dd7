"""The BigQuery backend (``bigquery://PROJECT/DATASET``) on the official client.

Writes and their guarantees (BigQuery has no row locks, and the emulator used in tests runs no
parameterised multi-statement scripts, so every write is built from single statements):

* **Compare-and-set.** Each mutable row (job, run, payload) carries a random ``stamp``. A
  write reads the row, computes the new one in Python, then commits with one ``MERGE`` that
  only matches if the stamp is still the one read (or, for a create, if the row is still
  absent). Zero rows changed means another writer won: re-read and retry. One MERGE is atomic
  in BigQuery, so a row is always wholly old or wholly new.
* **Runs never show half their tests.** A run's tests are loaded (load job, not streaming) as
  a new *generation* before the run's row is flipped to name it; readers only read the
  generation the run names. The previous generation is kept until the next write, so a reader
  that read the run row just before a flip still finds its tests; older ones are deleted.
  A crash between the load and the flip leaves only unreferenced rows, never a visible change.
* **Validation first.** Tests, times and maps are validated before the first request, so a bad
  input changes nothing. The one non-atomic pair is "create the job, then the run" of a
  ``put_run`` on an unknown job: a crash between them leaves an empty job (as a ``PUT /jobs``
  would), never a run without its job.
* **Idempotent.** An identical re-put is detected from the stored fingerprint of the run's
  tests and its spec and changes nothing; a client retry after a lost answer is thus a no-op.
* Writes of one process are serialised per dataset (BigQuery aborts concurrent DML on one
  table anyway); across processes the compare-and-set keeps every write exactly once.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from api.domain import (
    Job,
    JobSpec,
    Page,
    Payload,
    Scope,
    WriteOutcome,
)
from api.store.base import Store, StoreError
from api.store.bigquery_client import Connection, Typed
from api.store.bigquery_history import BigQueryHistory
from api.store.bigquery_rows import (
    JOB_COLUMNS,
    _job_of,
    new_id,
    now_us,
    ts,
    us,
)
from api.store.bigquery_runs import BigQueryRuns
from api.store.bigquery_schema import migrate
from api.store.sqlite_codec import (
    check_expected,
    decode_cursor,
    dump_map,
    encode_cursor,
    from_us,
    to_us,
)
from api.store.sqlite_rows import check_limit

MAX_ATTEMPTS = 8


class BigQueryStore(BigQueryRuns, BigQueryHistory, Store):
    """A :class:`Store` on one BigQuery dataset; cheap to open (no request until used)."""

    def __init__(self, project: str, dataset: str, *, client: Any = None,
                 deadline: float | None = None) -> None:
        kwargs = {} if deadline is None else {"deadline": deadline}
        self._conn = Connection(project, dataset, client=client, **kwargs)
        self.project, self.dataset = project, dataset

    @property
    def connection(self) -> Connection:
        return self._conn

    # -- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> int:
        with self._conn.lock:
            return migrate(self._conn)

    def close(self) -> None:
        if self._conn._client is not None:
            self._conn._client.close()

    def ping(self) -> None:
        # Table metadata rather than a query: free, where the smallest query bills 10 MB.
        try:
            self._conn.client.get_table(self._conn.table_id("schema_version"),
                                        timeout=min(self._conn.deadline, 10.0))
        except Exception as exc:
            raise StoreError(f"bigquery store {self.project}/{self.dataset} is not usable:"
                             f" {exc}") from exc

    def _retrying(self, attempt: Any) -> Any:
        """Run ``attempt()`` under the dataset lock until its compare-and-set wins."""
        from api.store.bigquery_client import Conflict

        for tries in range(MAX_ATTEMPTS):
            with self._conn.lock:
                try:
                    result = attempt()
                except Conflict:
                    result = None
            if result is not None:
                return result
            time.sleep(min(2.0, 0.05 * 2**tries) * random.random())
        raise StoreError("gave up after repeated concurrent updates; retry later")

    # -- jobs --------------------------------------------------------------------------------

    def _job_row(self, name: str) -> tuple[Any, ...] | None:
        rows = self._conn.rows(f"SELECT {JOB_COLUMNS} FROM {self._conn.table('jobs')}"
                               " WHERE name = @name", name=name)
        return rows[0] if rows else None

    def _cas_job(self, name: str, old_stamp: int | None, values: dict[str, Any]) -> bool:
        c = self._conn
        sets = ", ".join(f"{k} = @{k}" for k in values if k not in ("name", "created_at"))
        cols = ", ".join(values)
        return c.execute(
            f"MERGE {c.table('jobs')} T USING (SELECT @name AS name) S ON T.name = S.name"
            f" WHEN MATCHED AND T.stamp = @old THEN UPDATE SET {sets}"
            f" WHEN NOT MATCHED AND @old IS NULL THEN INSERT ({cols})"
            f" VALUES ({', '.join('@' + k for k in values)})",
            old=Typed("INT64", old_stamp), **values) == 1

    def _job_values(self, name: str, variant: str, policy: str | None, expected: int | None,
                    settings: str, created: int, updated: int) -> dict[str, Any]:
        return {"name": name, "variant": variant, "policy": Typed("STRING", policy),
                "expected_runs": Typed("INT64", expected), "settings": settings,
                "stamp": new_id(), "created_at": ts(created), "updated_at": ts(updated)}

    def _ensure_job(self, name: str) -> None:
        now = now_us()
        c = self._conn
        c.execute(f"MERGE {c.table('jobs')} T USING (SELECT @name AS name) S ON T.name = S.name"
                  " WHEN NOT MATCHED THEN INSERT (name, variant, policy, expected_runs,"
                  " settings, stamp, created_at, updated_at) VALUES (@name, '{}', NULL, NULL,"
                  " '{}', @stamp, @now, @now)", name=name, stamp=new_id(), now=ts(now))

    def put_job(self, spec: JobSpec) -> tuple[Job, WriteOutcome]:
        variant = None if spec.variant is None else dump_map(spec.variant)
        settings = None if spec.settings is None else dump_map(spec.settings)
        if spec.expected_runs is not None and (isinstance(spec.expected_runs, bool)
                                               or not isinstance(spec.expected_runs, int)):
            raise TypeError("expected_runs must be an integer")

        def attempt() -> tuple[Job, WriteOutcome] | None:
            row = self._job_row(spec.name)
            now = now_us()
            if row is None:
                values = self._job_values(spec.name, variant or "{}", spec.policy,
                                          spec.expected_runs, settings or "{}", now, now)
                outcome = WriteOutcome.CREATED
                old = None
            else:
                new = (variant or row[1], spec.policy if spec.policy is not None else row[2],
                       spec.expected_runs if spec.expected_runs is not None else row[3],
                       settings or row[4])
                if new == tuple(row[1:5]):
                    return _job_of(row), WriteOutcome.UNCHANGED
                values = self._job_values(spec.name, *new, to_us(row[6]),  # type: ignore[arg-type]
                                          max(now, to_us(row[7]) + 1))  # type: ignore[operator]
                outcome, old = WriteOutcome.UPDATED, row[5]
            if not self._cas_job(spec.name, old, values):
                return None
            return _job_of(tuple(v.value if isinstance(v, Typed) else v
                                 for v in values.values())), outcome

        return self._retrying(attempt)  # type: ignore[no-any-return]

    def get_job(self, name: str) -> Job | None:
        row = self._job_row(name)
        return None if row is None else _job_of(row)

    def list_jobs(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        after = decode_cursor(cursor, "jobs", (str,))[0] if cursor is not None else None
        rows = self._conn.rows(
            f"SELECT {JOB_COLUMNS} FROM {self._conn.table('jobs')}"
            " WHERE @after IS NULL OR name > @after ORDER BY name LIMIT @n",
            after=Typed("STRING", after), n=limit + 1)
        jobs = tuple(_job_of(row) for row in rows[:limit])
        more = len(rows) > limit
        return Page(jobs, encode_cursor("jobs", [jobs[-1].name]) if more else None)

    # -- payloads ----------------------------------------------------------------------------

    def put_payload(self, payload: Payload) -> tuple[Payload, WriteOutcome]:
        check_expected(payload.expected)
        expected = dump_map(payload.expected)
        deadline = to_us(payload.deadline)
        c = self._conn

        def attempt() -> tuple[Payload, WriteOutcome] | None:
            rows = c.rows(f"SELECT expected, deadline, stamp, created_at, updated_at"
                          f" FROM {c.table('payloads')} WHERE id = @id", id=payload.id)
            now = now_us()
            if rows and (rows[0][0], us(rows[0][1])) == (expected, deadline):
                return self._payload(payload.id, rows[0]), WriteOutcome.UNCHANGED
            created = to_us(rows[0][3]) if rows else now
            updated = max(now, to_us(rows[0][4]) + 1) if rows else now  # type: ignore[operator]
            stamp = new_id()
            won = c.execute(
                f"MERGE {c.table('payloads')} T USING (SELECT @id AS id) S ON T.id = S.id"
                " WHEN MATCHED AND T.stamp = @old THEN UPDATE SET expected = @expected,"
                " deadline = @deadline, stamp = @stamp, updated_at = @updated"
                " WHEN NOT MATCHED AND @old IS NULL THEN INSERT (id, expected, deadline, stamp,"
                " created_at, updated_at) VALUES (@id, @expected, @deadline, @stamp, @created,"
                " @updated)", id=payload.id, old=Typed("INT64", rows[0][2] if rows else None),
                expected=expected, deadline=ts(deadline), stamp=stamp, created=ts(created),
                updated=ts(updated))
            if won != 1:
                return None
            stored = self._payload(payload.id, (expected, from_us(deadline), stamp,
                                                from_us(created), from_us(updated)))
            return stored, WriteOutcome.UPDATED if rows else WriteOutcome.CREATED

        return self._retrying(attempt)  # type: ignore[no-any-return]

    @staticmethod
    def _payload(payload_id: str, row: tuple[Any, ...]) -> Payload:
        expected, deadline, _, created_at, updated_at = row
        return Payload(id=payload_id, expected=json.loads(expected), deadline=deadline,
                       created_at=created_at, updated_at=updated_at)

    def get_payload(self, payload_id: str) -> Payload | None:
        c = self._conn
        rows = c.rows(f"SELECT expected, deadline, stamp, created_at, updated_at"
                      f" FROM {c.table('payloads')} WHERE id = @id", id=payload_id)
        return self._payload(payload_id, rows[0]) if rows else None

    # -- tokens ------------------------------------------------------------------------------

    def add_token(self, token_hash: str, scope: Scope, label: str) -> None:
        c = self._conn
        with c.lock:
            c.execute(f"MERGE {c.table('tokens')} T USING (SELECT @hash AS hash) S"
                      " ON T.hash = S.hash WHEN MATCHED THEN UPDATE SET scope = @scope,"
                      " label = @label WHEN NOT MATCHED THEN INSERT (hash, scope, label,"
                      " created_at) VALUES (@hash, @scope, @label, @now)",
                      hash=token_hash, scope=Scope(scope).value, label=label,
                      now=ts(now_us()))

    def find_token(self, token_hash: str) -> Scope | None:
        c = self._conn
        rows = c.rows(f"SELECT scope FROM {c.table('tokens')} WHERE hash = @hash",
                      hash=token_hash)
        return Scope(rows[0][0]) if rows else None
