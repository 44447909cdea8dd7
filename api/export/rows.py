"""What an export copies: the warehouse tables' schema and the rows read from any store.

The warehouse tables are analytics-shaped (statuses as words, durations in seconds, one
``results`` row per run and test with the run's job, payload and day denormalised), not the
backend's own storage layout, so that one export format serves every source backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from api.domain import Run
from api.store import RunFilter, Store
from api.store.bigquery.schema import Table

S, N64, F, B, T, D = "STRING", "INT64", "FLOAT64", "BOOL", "TIMESTAMP", "DATE"
R, O = "REQUIRED", "NULLABLE"  # noqa: E741
PAGE = 500
# Writes whose updated_at is older than this when the export starts are surely committed;
# younger ones may still be in flight and are re-checked by the next export.
SETTLE = timedelta(minutes=5)

TABLES: tuple[Table, ...] = (
    Table("jobs", (("name", S, R), ("variant", S, R), ("policy", S, O),
                   ("expected_runs", N64, O), ("settings", S, R), ("created_at", T, O),
                   ("updated_at", T, O)), cluster=("name",)),
    Table("runs", (("job", S, R), ("run_id", S, R), ("payload", S, O), ("status", S, R),
                   ("run_date", D, R), ("started_at", T, O), ("finished_at", T, O),
                   ("url", S, O), ("variant", S, R), ("metadata", S, R), ("total", N64, R),
                   ("passed", N64, R), ("failed", N64, R), ("errors", N64, R),
                   ("skipped", N64, R), ("flaked", N64, R), ("files", S, R),
                   ("created_at", T, R), ("updated_at", T, R)),
          partition="run_date", cluster=("job", "payload")),
    Table("results", (("job", S, R), ("run_id", S, R), ("payload", S, O),
                      ("run_date", D, R), ("run_status", S, R), ("suite", S, R),
                      ("name", S, R), ("status", S, R), ("duration_s", F, O),
                      ("message", S, O), ("run_updated_at", T, R)),
          partition="run_date", cluster=("job", "name")),
    Table("baselines", (("job", S, R), ("version", N64, R), ("created_at", T, R),
                        ("runs", N64, R), ("tests", N64, R), ("window_days", N64, R),
                        ("max_runs", N64, R), ("exclude_payload", S, O), ("latch", B, R),
                        ("prior", S, R), ("note", S, O)), cluster=("job",)),
    Table("baseline_tests", (("job", S, R), ("version", N64, R), ("suite", S, R),
                             ("name", S, R), ("runs", N64, R), ("passes", N64, R),
                             ("failures", N64, R), ("flakes", N64, R), ("pass_rate", F, R),
                             ("stddev", F, R), ("latched", B, R),
                             ("observed_pass_rate", F, O)), cluster=("job", "version")),
)
BY_NAME = {table.name: table for table in TABLES}


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def key(value: datetime) -> str:
    """A fixed-width UTC text form whose string order is time order (for the state)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_date(run: Run) -> date:
    return (run.spec.started_at or run.created_at).astimezone(UTC).date()


@dataclass
class State:
    """What an export destination has received so far (stored in the destination).

    ``floor``: the earliest ``--since`` covered ("" = everything, None = nothing yet).
    ``watermark``: runs changed at or before it are exported. ``recent``: runs changed after
    the watermark that were exported anyway, with the change exported, so that they are not
    exported twice. ``baselines``: per job, the newest version exported.
    """

    floor: str | None = None
    watermark: str | None = None
    recent: dict[str, str] = field(default_factory=dict)  # json [job, run_id] -> updated_at
    baselines: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)  # name -> updated_at exported

    @classmethod
    def from_json(cls, text: str | None) -> State:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("floor"), data.get("watermark"), dict(data.get("recent", {})),
                   {k: int(v) for k, v in data.get("baselines", {}).items()},
                   dict(data.get("jobs", {})))

    def to_json(self) -> str:
        return json.dumps({"floor": self.floor, "watermark": self.watermark,
                           "recent": self.recent, "baselines": self.baselines,
                           "jobs": self.jobs},
                          sort_keys=True)


@dataclass
class Batch:
    """Rows of one export, per warehouse table; ``runs`` are the (job, run_id) replaced."""

    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {table.name: [] for table in TABLES})
    runs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


def _run_row(run: Run) -> dict[str, Any]:
    spec, counts = run.spec, run.counts
    return {"job": spec.job, "run_id": spec.run_id, "payload": spec.payload,
            "status": str(spec.status), "run_date": run_date(run).isoformat(),
            "started_at": iso(spec.started_at), "finished_at": iso(spec.finished_at),
            "url": spec.url, "variant": json.dumps(dict(spec.variant), sort_keys=True),
            "metadata": json.dumps(dict(spec.metadata), sort_keys=True),
            "total": counts.total, "passed": counts.passed, "failed": counts.failed,
            "errors": counts.errors, "skipped": counts.skipped, "flaked": counts.flaked,
            "files": json.dumps([[f.name, f.sha256, f.tests] for f in run.files]),
            "created_at": iso(run.created_at), "updated_at": iso(run.updated_at)}


def _runs(store: Store, since: datetime | None) -> Iterator[Run]:
    cursor: str | None = None
    while True:
        page = store.list_jobs(limit=PAGE, cursor=cursor)
        for job in page.items:
            run_cursor: str | None = None
            while True:
                runs = store.list_runs(job.name, where=RunFilter(since=since), limit=PAGE,
                                       cursor=run_cursor)
                yield from runs.items
                if runs.next_cursor is None:
                    break
                run_cursor = runs.next_cursor
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _pages(fetch: Any) -> Iterator[Any]:
    cursor = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def collect(store: Store, state: State, since: datetime | None,
            now: datetime | None = None) -> tuple[Batch, State]:
    """The rows not yet exported, and the state to store once they are written."""
    now = now or datetime.now(UTC)
    settled = key(now - SETTLE)
    since_key = "" if since is None else key(since)
    widened = state.floor is not None and since_key < state.floor
    batch = Batch()
    jobs = dict(state.jobs)
    all_jobs: list[str] = []
    for job in _pages(lambda c: store.list_jobs(limit=PAGE, cursor=c)):
        all_jobs.append(job.name)
        changed = key(job.updated_at) if job.updated_at else ""
        if jobs.get(job.name) == changed:
            continue
        jobs[job.name] = changed
        batch.rows["jobs"].append({
            "name": job.name, "variant": json.dumps(dict(job.variant), sort_keys=True),
            "policy": job.policy, "expected_runs": job.expected_runs,
            "settings": json.dumps(dict(job.settings), sort_keys=True),
            "created_at": iso(job.created_at), "updated_at": iso(job.updated_at)})
    # Recent changes already exported stay remembered even when this export's --since no
    # longer covers them, so that widening it again does not send them twice.
    new_recent = {k: v for k, v in state.recent.items() if v > settled}
    for run in _runs(store, since):
        run_key = json.dumps([run.spec.job, run.spec.run_id])
        changed = key(run.updated_at)
        start = key(run.spec.started_at or run.created_at)
        fresh = (state.watermark is None or changed > state.watermark)
        backfill = widened and start < (state.floor or "")
        if fresh and state.recent.get(run_key) == changed and not backfill:
            fresh = False  # this very change went out with the previous export
        if changed > settled:
            new_recent[run_key] = changed
        if not (fresh or backfill):
            continue
        row = _run_row(run)
        batch.rows["runs"].append(row)
        batch.runs.append((run.spec.job, run.spec.run_id))
        for test in store.get_run_tests(run.spec.job, run.spec.run_id):
            batch.rows["results"].append({
                "job": run.spec.job, "run_id": run.spec.run_id, "payload": run.spec.payload,
                "run_date": row["run_date"], "run_status": row["status"], "suite": test.suite,
                "name": test.name, "status": test.status.wire, "duration_s": test.duration_s,
                "message": test.message, "run_updated_at": row["updated_at"]})
    baselines = dict(state.baselines)
    for job in all_jobs:
        done = baselines.get(job, 0)
        for version in _pages(lambda c, j=job: store.list_baselines(j, limit=PAGE, cursor=c)):
            if version.version <= done:
                break  # newest first: the rest went out before
            batch.rows["baselines"].append({
                "job": job, "version": version.version, "created_at": iso(version.created_at),
                "runs": version.runs, "tests": version.tests,
                "window_days": version.window_days, "max_runs": version.max_runs,
                "exclude_payload": version.exclude_payload, "latch": version.latch,
                "prior": json.dumps(version.prior.to_dict()), "note": version.note})
            for t in store.baseline_tests(job, version.version):
                batch.rows["baseline_tests"].append({
                    "job": job, "version": version.version, "suite": t.suite, "name": t.name,
                    "runs": t.runs, "passes": t.passes, "failures": t.failures,
                    "flakes": t.flakes, "pass_rate": t.pass_rate, "stddev": t.stddev,
                    "latched": t.latched, "observed_pass_rate": t.observed_pass_rate})
            baselines[job] = max(baselines.get(job, 0), version.version)
    floor = since_key if state.floor is None else min(state.floor, since_key)
    watermark = max(filter(None, [state.watermark, settled]))
    return batch, State(floor=floor, watermark=watermark, recent=new_recent,
                        baselines=baselines, jobs=jobs)
