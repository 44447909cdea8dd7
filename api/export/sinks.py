"""Export destinations: a BigQuery dataset, or a folder of NDJSON files.

**BigQuery.** The export tables (``api.export.rows.TABLES``) are created idempotently beside
``export_state`` (the watermark, keyed by source URL) and two staging tables. Per export:
the keys of the runs and baseline versions being (re-)exported are loaded into staging; their
old rows are deleted from the export tables; the new rows are appended with load jobs; the
jobs table is replaced; then the state is saved. A crash anywhere before the state is saved
makes the next export redo the same keys, deleting what it wrote: rows are keyed by run and
version, so nothing is ever duplicated, whatever ``--since`` says. (Not one transaction:
warehouse readers may briefly miss a run being replaced.)

**NDJSON.** Each export writes one batch file per table, ``DIR/TABLE/EXPORTED_AT.ndjson``, and
``DIR/TABLE/schema.json`` (the BigQuery schema JSON ``bq load`` takes); the state lives in
``DIR/export-state.json``, written last (atomically, by rename). A run changed after an earlier
export appears again, once per change, in a later batch: keep the newest ``updated_at`` per
``(job, run_id)`` (``run_updated_at`` for results).
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.export.rows import TABLES, Batch, State
from api.store.bigquery.client import strings
from api.store.bigquery.schema import Table

_STATE = Table("export_state", (("source", "STRING", "REQUIRED"), ("state", "STRING", "REQUIRED"),
                                ("updated_at", "TIMESTAMP", "REQUIRED")))
_STAGE_RUNS = Table("export_stage_runs", (("batch", "INT64", "REQUIRED"),
                                          ("job", "STRING", "REQUIRED"),
                                          ("run_id", "STRING", "REQUIRED")))
_STAGE_BASELINES = Table("export_stage_baselines", (("batch", "INT64", "REQUIRED"),
                                                    ("job", "STRING", "REQUIRED"),
                                                    ("version", "INT64", "REQUIRED")))


class BigQuerySink:
    """An export destination dataset (created if missing)."""

    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit

        from api.store import open_store
        from api.store.bigquery import BigQueryStore

        store = open_store(url)  # validates the URL's project and dataset names
        if not isinstance(store, BigQueryStore):
            raise ValueError(f"export target must be bigquery://PROJECT/DATASET: {url!r}")
        self.conn = store.connection
        self.url = urlsplit(url)._replace(query="", fragment="").geturl()

    def prepare(self) -> None:
        conn = self.conn
        conn.client.create_dataset(f"{conn.project}.{conn.dataset}", exists_ok=True,
                                   timeout=conn.deadline)
        tables = (*TABLES, _STATE, _STAGE_RUNS, _STAGE_BASELINES)
        conn.execute("; ".join(t.ddl(conn.table(t.name)) for t in tables))

    def state(self, source: str) -> State:
        rows = self.conn.rows(f"SELECT state FROM {self.conn.table('export_state')}"
                              " WHERE source = @source", source=source)
        return State.from_json(rows[0][0] if rows else None)

    def write(self, source: str, batch: Batch, state: State) -> None:
        conn = self.conn
        token = random.SystemRandom().randrange(1, 2**62)
        run_keys = [{"batch": token, "job": j, "run_id": r} for j, r in batch.runs]
        versions = [{"batch": token, "job": b["job"], "version": b["version"]}
                    for b in batch.rows["baselines"]]
        with conn.lock:
            if run_keys:
                conn.load("export_stage_runs", run_keys)
                for table in ("results", "runs"):
                    conn.execute(
                        f"DELETE FROM {conn.table(table)} t WHERE EXISTS (SELECT 1 FROM"
                        f" {conn.table('export_stage_runs')} s WHERE s.batch = @batch"
                        " AND s.job = t.job AND s.run_id = t.run_id)", batch=token)
            if versions:
                conn.load("export_stage_baselines", versions)
                for table in ("baseline_tests", "baselines"):
                    conn.execute(
                        f"DELETE FROM {conn.table(table)} t WHERE EXISTS (SELECT 1 FROM"
                        f" {conn.table('export_stage_baselines')} s WHERE s.batch = @batch"
                        " AND s.job = t.job AND s.version = t.version)", batch=token)
            for table in ("runs", "results", "baselines", "baseline_tests"):  # appended
                conn.load(table, batch.rows[table])
            names = [row["name"] for row in batch.rows["jobs"]]
            if names:  # changed jobs are replaced by name
                conn.execute(f"DELETE FROM {conn.table('jobs')} WHERE name IN UNNEST(@names)",
                             names=strings(names))
                conn.load("jobs", batch.rows["jobs"])
            conn.execute(
                f"MERGE {conn.table('export_state')} T USING (SELECT @source AS source) S"
                " ON T.source = S.source WHEN MATCHED THEN UPDATE SET state = @state,"
                " updated_at = CURRENT_TIMESTAMP() WHEN NOT MATCHED THEN INSERT"
                " (source, state, updated_at) VALUES (@source, @state, CURRENT_TIMESTAMP())",
                source=source, state=state.to_json())
            for stage in ("export_stage_runs", "export_stage_baselines"):
                conn.execute(f"DELETE FROM {conn.table(stage)} WHERE batch = @batch",
                             batch=token)


class NdjsonSink:
    """A folder of per-table NDJSON batches with their BigQuery schemas."""

    STATE_FILE = "export-state.json"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def prepare(self) -> None:
        for table in TABLES:
            path = self.folder / table.name
            path.mkdir(parents=True, exist_ok=True)
            (path / "schema.json").write_text(json.dumps(table.json_schema(), indent=2) + "\n")

    def _states(self) -> dict[str, Any]:
        path = self.folder / self.STATE_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def state(self, source: str) -> State:
        text = self._states().get(source)
        return State.from_json(json.dumps(text) if text else None)

    def write(self, source: str, batch: Batch, state: State) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        for table in TABLES:
            rows = batch.rows[table.name]
            if not rows:
                continue
            target = self.folder / table.name / f"{stamp}.ndjson"
            partial = target.with_suffix(".ndjson.partial")
            with partial.open("w", encoding="utf-8") as out:
                for row in rows:
                    out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            os.replace(partial, target)
        states = self._states()
        states[source] = json.loads(state.to_json())
        path = self.folder / self.STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(states, indent=2, sort_keys=True) + "\n")
        os.replace(temporary, path)  # the commit point: only now is the batch "exported"
