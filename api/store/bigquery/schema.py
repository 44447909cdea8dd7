"""The BigQuery backend's schema: tables as data, DDL generated from it, idempotent migration.

Design (see ``docs/bigquery.md`` for bytes-scanned estimates):

* ``results`` is the only big table: one row per (run, test), **partitioned by** ``run_day``
  (the UTC day the run was created, fixed for the run's life) and **clustered by**
  ``job, run_id``. The verdict and the baseline first read the few ``runs`` rows they need
  (small table, clustered by ``job, payload``), then read ``results`` filtered by the constant
  list of those runs' days (partition pruning), the job and the runs' current generation, so
  they scan only the blocks of those runs' partitions and only the columns they name
  (``suite, name, status``; never ``message``).
* Test names are denormalised (``suite``, ``name`` on every result row): BigQuery has no
  cheap point lookups to resolve an interned id, and columnar storage only reads those two
  columns when a query names them.
* A run's results carry a **generation** (``gen``); the run's row names its current one.
  Writes load a new generation first and then flip the run's row with one MERGE, so readers
  never see half of a run's tests.
* Maps and small lists (variant, metadata, settings, expected runs, files, the prior, audit
  test keys) are canonical JSON strings, compared as strings for idempotency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the connection's Storage Write API needs this module's columns
    from api.store.bigquery.client import Connection

# 2: baseline_runs and leases tables; results.informing; audit field/old/new/job_stamp; token
# id, expiry, revocation and last use. ``migrate`` adds the columns to older datasets.
SCHEMA_VERSION = 5  # 5: transfer_progress (db copy)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[tuple[str, str, str], ...]  # (name, type, mode: NULLABLE | REQUIRED)
    partition: str | None = None
    cluster: tuple[str, ...] = ()
    description: str = ""

    def ddl(self, qualified: str) -> str:
        # NOT NULL is left to the code: the emulator's DuckDB would enforce it, real BigQuery
        # would too, and every writer already validates before writing.
        cols = ", ".join(f"{name} {type_}" for name, type_, _ in self.columns)
        sql = f"CREATE TABLE IF NOT EXISTS {qualified} ({cols})"
        if self.partition:
            sql += f" PARTITION BY {self.partition}"
        if self.cluster:
            sql += f" CLUSTER BY {', '.join(self.cluster)}"
        return sql

    def json_schema(self) -> list[dict[str, str]]:
        """The table's schema in the JSON form ``bq load --schema`` and ``bq mk`` accept."""
        return [{"name": name, "type": type_, "mode": mode} for name, type_, mode in
                self.columns]


S, I, F, B, T, D = "STRING", "INT64", "FLOAT64", "BOOL", "TIMESTAMP", "DATE"  # noqa: E741  (short names keep the table list readable)
R, N = "REQUIRED", "NULLABLE"

TABLES: tuple[Table, ...] = (
    Table("schema_version", (("version", I, R), ("applied_at", T, R))),
    Table("jobs", (("name", S, R), ("variant", S, R), ("policy", S, N),
                   ("expected_runs", I, N), ("settings", S, R), ("stamp", I, R),
                   ("created_at", T, R), ("updated_at", T, R)),
          cluster=("name",), description="CI jobs and their settings"),
    Table("runs", (("job", S, R), ("run_id", S, R), ("payload", S, N), ("status", S, R),
                   ("started_at", T, N), ("finished_at", T, N), ("url", S, N),
                   ("variant", S, R), ("metadata", S, R), ("files", S, R),
                   ("tests_hash", S, N), ("gen", I, R), ("prev_gen", I, N),
                   ("run_day", D, R), ("n_total", I, R), ("n_passed", I, R),
                   ("n_failed", I, R), ("n_errors", I, R), ("n_skipped", I, R),
                   ("n_flaked", I, R), ("stamp", I, R), ("created_at", T, R),
                   ("updated_at", T, R),
                   # Disruption (§9): the current measurement generation and the run's
                   # variant, kinds and files as JSON, flipped with the row itself.
                   ("mgen", I, N), ("measures", S, N)),
          cluster=("job", "payload"), description="one row per job run"),
    Table("results", (("job", S, R), ("run_id", S, R), ("gen", I, R), ("run_day", D, R),
                      ("suite", S, R), ("name", S, R), ("status", I, R),
                      ("duration_ms", I, N), ("message", S, N),
                      ("informing", B, N)),  # lifecycle="informing": never blocks
          partition="run_day", cluster=("job", "run_id"),
          description="per run and test; status 0 passed 1 failed 2 error 3 skipped 4 flaked"),
    Table("payloads", (("id", S, R), ("expected", S, R), ("deadline", T, N), ("stamp", I, R),
                       ("created_at", T, R), ("updated_at", T, R)), cluster=("id",)),
    # id: the hash's first 12 hex digits; revoked_by: who revoked it (the token audit).
    Table("tokens", (("hash", S, R), ("scope", S, R), ("label", S, R),
                     ("created_at", T, R), ("id", S, N), ("expires_at", T, N),
                     ("revoked_at", T, N), ("revoked_by", S, N), ("last_used_at", T, N)),
          cluster=("hash",)),
    Table("baselines", (("job", S, R), ("version", I, R), ("token", I, R),
                        ("created_at", T, R), ("runs", I, R), ("tests", I, R),
                        ("window_days", I, R), ("max_runs", I, R),
                        ("exclude_payload", S, N), ("latch", B, R), ("prior", S, R),
                        ("note", S, N)), cluster=("job",)),
    Table("baseline_tests", (("job", S, R), ("version", I, R), ("token", I, R),
                             ("suite", S, R), ("name", S, R), ("runs", I, R),
                             ("passes", I, R), ("failures", I, R), ("flakes", I, R),
                             ("pass_rate", F, R), ("stddev", F, R), ("latched", B, R),
                             ("observed_pass_rate", F, N)), cluster=("job", "version")),
    # Which runs each baseline version counted (under the version's token), so a verdict can
    # remove the judged payload's own runs; and named expiring leases (the baseline schedule).
    Table("baseline_runs", (("job", S, R), ("version", I, R), ("token", I, R),
                            ("run_id", S, R)), cluster=("job", "version")),
    Table("leases", (("name", S, R), ("holder", S, R), ("expires_at", T, R)),
          cluster=("name",)),
    Table("audit", (("job", S, R), ("seq", I, R), ("id", I, R), ("at_time", T, R),
                    ("action", S, R), ("actor", S, R), ("reason", S, R), ("tests", S, R),
                    ("version", I, N), ("baseline_token", I, N),
                    # Settings changes (issue 10): the field, its old and new JSON values, and
                    # the job stamp the change put in force (hidden until it is in force).
                    ("field", S, N), ("old", S, N), ("new", S, N), ("job_stamp", I, N)),
          cluster=("job",)),
    Table("crawl_records", (("source", S, R), ("build", S, R), ("state", S, R),
                            ("attempts", I, R), ("reason", S, N), ("job", S, N),
                            ("run_id", S, N), ("first_seen", T, R), ("updated_at", T, R)),
          cluster=("source", "build")),
    # Where a batch of crawl records is loaded before one MERGE applies it (then deleted).
    Table("crawl_staging", (("batch", I, R), ("source", S, R), ("build", S, R),
                            ("state", S, R), ("attempts", I, R), ("reason", S, N),
                            ("job", S, N), ("run_id", S, N), ("first_seen", T, R)),
          cluster=("batch",)),
    # --- build logs (issue 13): one row per (run, step) naming its current generation of
    # compressed chunks (zlib, at most 1 MiB each, base64 text: see logs.py).
    Table("logs", (("job", S, R), ("run_id", S, R), ("step", S, R), ("gen", I, R),
                   ("chunks", I, R), ("sha256", S, R), ("size", I, R), ("lines", I, R),
                   ("received_bytes", I, R), ("omitted_bytes", I, R), ("omitted_lines", I, R),
                   ("cut_lines", I, R), ("source", S, R), ("stored_at", T, R)),
          cluster=("job", "run_id")),
    Table("log_chunks", (("job", S, R), ("run_id", S, R), ("step", S, R), ("gen", I, R),
                         ("seq", I, R), ("data", S, R)),
          cluster=("job", "run_id", "step")),
    # --- disruption and alert measurements (SPEC §9; api/store/bigquery/disruption.py) ---
    # (runs.mgen and runs.measures, above, name a run's current measurement generation.)
    Table("measurements", (("job", S, R), ("run_id", S, R), ("gen", I, R), ("kind", S, R),
                           ("name", S, R), ("namespace", S, R), ("level", S, R),
                           ("seconds", I, R)), cluster=("kind", "job", "run_id")),
    Table("disruption_baselines", (("kind", S, R), ("version", I, R), ("token", I, R),
                                   ("created_at", T, R), ("window_days", I, R),
                                   ("n_rows", I, R), ("actor", S, R), ("note", S, R)),
          cluster=("kind",)),
    Table("disruption_baseline_rows", (
        ("kind", S, R), ("version", I, R), ("token", I, R), ("sort_key", S, R),
        ("name", S, R), ("namespace", S, R), ("level", S, R), ("release", S, R),
        ("from_release", S, R), ("platform", S, R), ("architecture", S, R),
        ("network", S, R), ("topology", S, R), ("master_nodes_updated", S, R),
        ("job_runs", I, R), ("p50", F, N), ("p75", F, N), ("p95", F, R), ("p99", F, R),
        ("mean", F, N), ("stddev", F, N), ("first_observed", T, N),
        ("last_observed", T, N)), cluster=("kind", "version", "name")),
    # -- patterns: curated failure patterns, their versions and audit log, each log's scan
    # record ({pattern id: [version, gen]}), matches (under the gen of the scan that found
    # them; see api/store/bigquery/matches.py) and background scans.
    Table("patterns", (("id", I, R), ("version", I, R), ("author", S, R),
                       ("created_at", T, R), ("retired_at", T, N), ("promoted", B, R)),
          cluster=("id",)),
    Table("pattern_versions", (("pattern_id", I, R), ("version", I, R), ("expression", S, R),
                               ("syntax", S, R), ("tags", S, R), ("steps", S, R),
                               ("specificity", I, R), ("lines_from_end", I, N),
                               ("description", S, R), ("created_at", T, R), ("actor", S, R)),
          cluster=("pattern_id",)),
    Table("pattern_audit", (("pattern_id", I, R), ("seq", I, R), ("at_time", T, R),
                            ("action", S, R), ("actor", S, R), ("reason", S, R),
                            ("version", I, R)), cluster=("pattern_id",)),
    Table("log_scans", (("job", S, R), ("run_id", S, R), ("step", S, R), ("applied", S, R),
                        ("stamp", I, R)), cluster=("job", "run_id")),
    Table("matches", (("job", S, R), ("run_id", S, R), ("step", S, R), ("pattern_id", I, R),
                      ("version", I, R), ("gen", I, R), ("line_number", I, R),
                      ("span_start", I, R), ("span_end", I, R), ("line_text", S, R)),
          cluster=("job", "run_id")),
    Table("scans", (("id", I, R), ("kind", S, R), ("state", S, R), ("pattern_id", I, N),
                    ("pattern_version", I, N), ("job", S, N), ("since", T, N),
                    ("cursor", S, N), ("logs_scanned", I, R), ("matches", I, R),
                    ("error", S, N), ("actor", S, R), ("created_at", T, R),
                    ("updated_at", T, R)), cluster=("id",)),
    # Known breakages (issue 13, failure causes): jobs is a JSON array; token breaks id ties.
    Table("breakages", (("id", I, R), ("token", I, R), ("cause", S, R), ("jobs", S, R),
                        ("pattern_id", I, N), ("notes", S, R), ("started_at", T, R),
                        ("created_by", S, R), ("resolved_at", T, N), ("resolution", S, N),
                        ("resolved_by", S, N)), cluster=("id",)),
    # --- durable background work (issue 14, webhooks and publications: api/store/work.py) ---
    Table("work", (("id", S, R), ("kind", S, R), ("key", S, R), ("body", S, R),
                   ("state", S, R), ("attempts", I, R), ("not_before", T, R), ("holder", S, N),
                   ("lease_until", T, N), ("error", S, N), ("created_at", T, R),
                   ("updated_at", T, R)), cluster=("kind", "key")),
    # GitHub publications (issue 14, api/store/github.py): one row per (repository, target).
    Table("github_publications", (("repository", S, R), ("target", S, R), ("digest", S, R),
                                  ("remote_id", I, N), ("updated_at", T, R)),
          cluster=("repository", "target")),
    # --- db copy (issue 16, api/store/transfer.py): a copy's progress per logical table in
    # the target (ROWS is reserved in BigQuery's SQL, hence n_rows; after_cursor likewise).
    Table("transfer_progress", (("copy_id", S, R), ("source", S, R), ("tbl", S, R),
                                ("after_cursor", S, N), ("n_rows", I, R), ("done", B, R)),
          cluster=("copy_id",)),
)
BY_NAME = {table.name: table for table in TABLES}


def migrate(conn: Connection) -> int:
    """Create the dataset (if allowed and missing) and every table; record the version."""
    from google.api_core import exceptions

    from api.store.base import StoreError

    # Already current: return without a single write, so that a server or a dry-run holding
    # only a read-only credential (dataViewer + jobUser) can still "migrate" at start-up.
    try:
        current = conn.rows(f"SELECT MAX(version) FROM {conn.table('schema_version')}")
    except StoreError:
        current = []
    if current and current[0][0] is not None and int(current[0][0]) >= SCHEMA_VERSION:
        return int(current[0][0])
    try:
        conn.client.get_dataset(f"{conn.project}.{conn.dataset}", timeout=conn.deadline)
    except exceptions.NotFound:
        conn.client.create_dataset(f"{conn.project}.{conn.dataset}", exists_ok=True,
                                   timeout=conn.deadline)
    # One script for all tables: one round trip, and each statement is IF NOT EXISTS. A dataset
    # made by an older version then gets the columns added since (IF NOT EXISTS again), so the
    # upgrade needs no list of what changed when, and re-running it is harmless.
    statements = [table.ddl(conn.table(table.name)) for table in TABLES]
    if current and current[0][0] is not None:
        statements += [f"ALTER TABLE {conn.table(table.name)} ADD COLUMN IF NOT EXISTS"
                       f" {name} {type_}" for table in TABLES for name, type_, _ in table.columns]
    conn.execute("; ".join(statements))
    # MERGE rather than INSERT: two processes migrating at once record the version once.
    conn.execute(
        f"MERGE {conn.table('schema_version')} T USING (SELECT @v AS version) S"
        " ON T.version = S.version"
        " WHEN NOT MATCHED THEN INSERT (version, applied_at)"
        " VALUES (@v, CURRENT_TIMESTAMP())", v=SCHEMA_VERSION)
    rows = conn.rows(f"SELECT MAX(version) FROM {conn.table('schema_version')}")
    return int(rows[0][0])
