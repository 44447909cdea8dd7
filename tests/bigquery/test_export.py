"""Warehouse export from a SQLite store: into BigQuery (the emulator) and into NDJSON files
that load into BigQuery with their schema.json. Incremental and duplicate-free."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.domain import RunSpec, RunStatus, TestResult, TestStatus
from api.export.commands import run_export
from api.export.sinks import BigQuerySink, NdjsonSink
from api.stats.types import Prior, TestBaseline
from api.store import open_store
from api.store.bigquery import BigQueryStore

pytestmark = pytest.mark.slow
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def _source(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    store = open_store(url)
    store.migrate()
    for day in range(6):
        store.put_run(RunSpec(job="e2e", run_id=f"r{day}", status=RunStatus.SUCCESS,
                              payload=f"p{day}", started_at=T0 + timedelta(days=day)),
                      [TestResult("a", "s", TestStatus.PASSED),
                       TestResult("b", "s", TestStatus.FAILED, 1.5, "boom")])
    store.put_baseline("e2e", window_days=14, max_runs=200, exclude_payload=None, latch=False,
                       runs=6, prior=Prior(1.0, 20.0),
                       tests=[TestBaseline("s", "a", 6, 6, 0, 0, 1.0, 0.0)])
    store.close()
    return url


def _count(sink: BigQuerySink, sql: str) -> list[tuple[Any, ...]]:
    return sink.conn.rows(sql.format(**{t: sink.conn.table(t) for t in
                                        ("runs", "results", "jobs", "baselines",
                                         "baseline_tests")}))


def _keys_unique(sink: BigQuerySink) -> None:
    assert _count(sink, "SELECT job, run_id FROM {runs} GROUP BY job, run_id"
                        " HAVING COUNT(*) > 1") == []
    assert _count(sink, "SELECT job, run_id, suite, name FROM {results}"
                        " GROUP BY job, run_id, suite, name HAVING COUNT(*) > 1") == []


def test_export_to_bigquery_is_incremental_and_duplicate_free(tmp_path: Path,
                                                               bq_url: str) -> None:
    source = _source(tmp_path)
    sink = BigQuerySink(bq_url)
    # --since 3 days in: only r3..r5, then nothing again on a re-run
    assert run_export(source, sink, T0 + timedelta(days=3)) == 3 + 6 + 1 + 1 + 1
    assert run_export(source, BigQuerySink(bq_url), T0 + timedelta(days=3)) == 0
    assert _count(sink, "SELECT COUNT(*) FROM {runs}") == [(3,)]
    # widening --since backfills the older runs once; narrowing it exports nothing
    assert run_export(source, sink, T0 + timedelta(days=1)) == 2 + 4
    assert run_export(source, sink, T0 + timedelta(days=4)) == 0
    assert run_export(source, sink, None) == 1 + 2
    assert _count(sink, "SELECT COUNT(*) FROM {runs}") == [(6,)]
    assert _count(sink, "SELECT COUNT(*) FROM {results}") == [(12,)]
    # an updated run is re-exported, replacing its rows
    store = open_store(source)
    store.put_run(RunSpec(job="e2e", run_id="r1", status=RunStatus.FAILURE, payload="p1",
                          started_at=T0 + timedelta(days=1)),
                  [TestResult("a", "s", TestStatus.FAILED)])
    store.close()
    assert run_export(source, sink, None) == 2
    assert run_export(source, sink, None) == 0
    _keys_unique(sink)
    assert _count(sink, "SELECT status, n FROM (SELECT status, COUNT(*) AS n FROM {results}"
                        " WHERE run_id = 'r1' GROUP BY status)") == [("failed", 1)]
    assert _count(sink, "SELECT COUNT(*) FROM {results}") == [(11,)]
    assert _count(sink, "SELECT job, version FROM {baselines}") == [("e2e", 1)]
    assert _count(sink, "SELECT COUNT(*) FROM {jobs}") == [(1,)]


def test_export_from_a_bigquery_store(tmp_path: Path, bq_url: str, bq_emulator: Any) -> None:
    source = bq_url
    store = open_store(source)
    assert isinstance(store, BigQueryStore)
    store.migrate()
    store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS),
                  [TestResult("t", "s", TestStatus.FLAKED)])
    out = tmp_path / "out"
    assert run_export(source, NdjsonSink(out), None) == 1 + 1 + 1
    [line] = (out / "results").glob("*.ndjson")
    assert json.loads(line.read_text())["status"] == "flaked"


def test_ndjson_export_loads_into_bigquery_with_its_schema(tmp_path: Path,
                                                           bq_url: str) -> None:
    from google.cloud import bigquery

    source = _source(tmp_path)
    out = tmp_path / "export"
    assert run_export(source, NdjsonSink(out), None) == 1 + 6 + 12 + 1 + 1
    assert run_export(source, NdjsonSink(out), None) == 0
    assert all(len(list((out / t).glob("*.ndjson"))) == 1
               for t in ("jobs", "runs", "results", "baselines", "baseline_tests"))
    sink = BigQuerySink(bq_url)  # only for its client and dataset
    sink.conn.client.create_dataset(f"{sink.conn.project}.{sink.conn.dataset}", exists_ok=True)
    for table in ("jobs", "runs", "results", "baselines", "baseline_tests"):
        schema = [bigquery.SchemaField.from_api_repr(field) for field in
                  json.loads((out / table / "schema.json").read_text())]
        config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON", schema=schema)
        body = b"".join(path.read_bytes() for path in sorted((out / table).glob("*.ndjson")))
        sink.conn.client.load_table_from_file(io.BytesIO(body), sink.conn.table_id(table),
                                              job_config=config).result(timeout=60)
    assert _count(sink, "SELECT COUNT(*) FROM {results}") == [(12,)]
    assert _count(sink, "SELECT COUNT(*) FROM {runs} WHERE status = 'success'") == [(6,)]
    assert _count(sink, "SELECT SUM(duration_s) FROM {results}") == [(9.0,)]
