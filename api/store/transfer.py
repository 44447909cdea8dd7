"""Moving a whole history between stores: the logical tables and the transfer part's contract.

``flakegate db copy`` (:mod:`api.services.store_copy`) reads every logical table of one store
in batches and writes them into another, whatever the two backends are. The tables here are
*logical*: a backend's own layout (SQLite's interned test ids and run keys, BigQuery's result
generations and compare-and-set stamps) never appears in them. A row is a tuple of plain
values in the order of :attr:`LogicalTable.columns`:

* text, integers, floats and ``None``; flags are the integers 0 and 1;
* times are integer microseconds since the epoch, UTC (:func:`api.store.codec.to_us`);
* maps and lists are canonical JSON text (:func:`api.store.codec.dump_map`: sorted keys);
* a run is named by ``(job, run_id)``, a test by ``(suite, name)``, a pattern by its id.

What users see is carried over unchanged: run ids, ``created_at``/``updated_at``, baseline and
pattern versions, audit order (``seq``), token hashes, pattern, scan and breakage ids. What is
a backend's private bookkeeping is *not* carried, and the target makes its own: SQLite's
results fingerprint (``tests_hash``, over its own test ids), BigQuery's stamps and
generations, leases (expiring locks), and a scan's resume ``cursor`` (a position in the
source's own order: an unfinished scan starts again from the beginning on the target, which
is harmless because the scan records say which pattern versions each log already had).

Contract of :class:`TransferStore` (``tests/store/test_contract_transfer.py``, every backend):

* **Ordered, batched export.** ``export_rows(table, after, limit)`` returns at most ``limit``
  rows and the cursor to pass next (``None`` after the last row). The order is the backend's
  own but stable: paging from ``None`` to the end yields every row exactly once, and a row
  added later with a key after the cursor is still reached. Cursors are opaque text.
* **Idempotent import.** ``import_rows(table, rows)`` writes the rows in one transaction and
  returns how many were new; importing the same rows again changes nothing and returns 0.
  Tables are imported in :data:`TABLES` order (parents first): a row whose run, job, baseline
  version or pattern is missing raises :class:`~api.store.errors.NotFound`.
* **Progress.** ``save_progress`` / ``load_progress`` keep a copy's position per table in the
  *target* database, durably, so an interrupted copy resumes where it stopped. Progress rows
  are not part of any logical table (a store holding only progress is still empty).
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class LogicalTable:
    name: str
    columns: tuple[str, ...]
    batch: int = 2000  # rows per export/import batch (logs are large: fewer)


TABLES: tuple[LogicalTable, ...] = (
    LogicalTable("jobs", ("name", "variant", "policy", "expected_runs", "settings",
                          "created_at", "updated_at")),
    LogicalTable("payloads", ("id", "expected", "deadline", "created_at", "updated_at")),
    LogicalTable("tokens", ("hash", "scope", "label", "created_at", "expires_at", "revoked_at",
                            "revoked_by", "last_used_at")),
    # files: the attached JUnit files in attach order, as [[sha256, name, tests], ...].
    LogicalTable("runs", ("job", "run_id", "payload", "status", "started_at", "finished_at",
                          "url", "variant", "metadata", "n_total", "n_passed", "n_failed",
                          "n_errors", "n_skipped", "n_flaked", "files", "created_at",
                          "updated_at")),
    LogicalTable("results", ("job", "run_id", "suite", "name", "status", "duration_ms",
                             "message", "informing"), batch=5000),
    LogicalTable("baselines", ("job", "version", "created_at", "runs", "tests", "window_days",
                               "max_runs", "exclude_payload", "latch", "prior", "note",
                               "runs_recorded")),
    LogicalTable("baseline_tests", ("job", "version", "suite", "name", "runs", "passes",
                                    "failures", "flakes", "pass_rate", "stddev", "latched",
                                    "observed_pass_rate"), batch=5000),
    LogicalTable("baseline_runs", ("job", "version", "run_id"), batch=5000),
    LogicalTable("audit", ("job", "seq", "at", "action", "actor", "reason", "tests", "version",
                           "field", "old", "new")),
    LogicalTable("crawl_records", ("source", "build", "state", "attempts", "reason", "job",
                                   "run_id", "first_seen", "updated_at")),
    LogicalTable("logs", ("job", "run_id", "step", "sha256", "size", "lines", "received_bytes",
                          "omitted_bytes", "omitted_lines", "cut_lines", "source", "stored_at",
                          "text"), batch=50),
    # files: the run's measurement files as [[sha256, name, kind], ...] ordered by sha256.
    LogicalTable("run_measures", ("job", "run_id", "release", "from_release", "platform",
                                  "architecture", "network", "topology",
                                  "master_nodes_updated", "from_cluster_data",
                                  "has_disruptions", "has_alerts", "files")),
    LogicalTable("measurements", ("job", "run_id", "kind", "name", "namespace", "level",
                                  "seconds"), batch=5000),
    LogicalTable("disruption_baselines", ("kind", "version", "created_at", "window_days",
                                          "n_rows", "actor", "note")),
    LogicalTable("disruption_baseline_rows", (
        "kind", "version", "name", "namespace", "level", "release", "from_release",
        "platform", "architecture", "network", "topology", "master_nodes_updated", "job_runs",
        "p50", "p75", "p95", "p99", "mean", "stddev", "first_observed", "last_observed")),
    LogicalTable("patterns", ("id", "version", "author", "created_at", "retired_at",
                              "promoted")),
    LogicalTable("pattern_versions", ("pattern_id", "version", "expression", "syntax", "tags",
                                      "steps", "specificity", "lines_from_end", "description",
                                      "created_at", "actor")),
    LogicalTable("pattern_audit", ("pattern_id", "seq", "at", "action", "actor", "reason",
                                   "version")),
    LogicalTable("log_scans", ("job", "run_id", "step", "pattern_id", "version"), batch=5000),
    LogicalTable("matches", ("job", "run_id", "step", "pattern_id", "version", "line_number",
                             "start", "end", "line_text")),
    LogicalTable("scans", ("id", "kind", "state", "pattern_id", "pattern_version", "job",
                           "since", "logs_scanned", "matches", "error", "actor", "created_at",
                           "updated_at")),
    LogicalTable("breakages", ("id", "cause", "jobs", "pattern_id", "notes", "started_at",
                               "created_by", "resolved_at", "resolution", "resolved_by")),
    # The durable work queue (api/store/work.py) without its live claim: a claimed item arrives
    # queued and unclaimed (holder and lease are a running process's, like leases), so the
    # target's workers pick it up; done and dead items keep blocking redelivered `once` keys.
    LogicalTable("work", ("id", "kind", "key", "body", "state", "attempts", "not_before",
                          "error", "created_at", "updated_at")),
    # What was published on GitHub (api/store/github.py): without it the target would create
    # a second check run or comment for every payload it publishes again.
    LogicalTable("github_publications", ("repository", "target", "digest", "remote_id",
                                         "updated_at")),
)
BY_NAME: dict[str, LogicalTable] = {table.name: table for table in TABLES}


def table_named(name: str) -> LogicalTable:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"no logical table {name!r}") from None


def row_digest(row: Row) -> int:
    """A row's 128-bit digest over its ``repr``: exact for the plain values of a row (floats
    round-trip) and ~4x faster than JSON, which matters at a million rows per side."""
    return int.from_bytes(hashlib.blake2b(repr(row).encode("utf-8", "surrogatepass"),
                                          digest_size=16).digest(), "big")


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a copy stands in one table: the source cursor after the last imported batch,
    rows imported so far, and whether the table is finished."""

    table: str
    after: str | None
    rows: int
    done: bool


@dataclass(frozen=True, slots=True)
class Copying:
    """The copy a target records: its id, its source (URL without password) and progress."""

    copy_id: str
    source: str
    tables: dict[str, Progress]


class TransferStore(abc.ABC):
    """A store's part for whole-history copies; see the module docstring for the contract."""

    @abc.abstractmethod
    def export_rows(self, table: str, after: str | None, limit: int) -> tuple[list[Row],
                                                                              str | None]:
        """At most ``limit`` rows of ``table`` after the cursor ``after`` (``None``: from the
        start), and the cursor of the next batch (``None``: no more rows)."""

    @abc.abstractmethod
    def import_rows(self, table: str, rows: Sequence[Row]) -> int:
        """Write the rows in one transaction; returns how many were new (0 on a re-import)."""

    @abc.abstractmethod
    def load_progress(self) -> Copying | None:
        """The copy recorded in this (target) store, or ``None`` when none ever wrote here."""

    @abc.abstractmethod
    def save_progress(self, copy_id: str, source: str, progress: Progress) -> None:
        """Record a table's progress of the copy ``copy_id`` from ``source`` (replacing that
        table's previous record); one transaction."""
