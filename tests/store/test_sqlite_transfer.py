"""`db copy` copies everything: every table of the SQLite schema is read by a logical table of
api/store/transfer.py, or is named here as deliberately not copied (with why). A table added by
a later migration fails this test until the copy learns it."""

from __future__ import annotations

from pathlib import Path

from api.store import open_store

# Physical table -> the logical table(s) that carry its rows.
COPIED = {
    "jobs": "jobs", "payloads": "payloads", "tokens": "tokens", "runs": "runs",
    "files": "runs", "results": "results", "tests": "results, baseline_tests",
    "messages": "results", "informing": "results", "baselines": "baselines",
    "baseline_tests": "baseline_tests", "baseline_runs": "baseline_runs", "audit": "audit",
    "crawl_records": "crawl_records", "logs": "logs", "run_measures": "run_measures",
    "measure_files": "run_measures", "measurements": "measurements",
    "measure_keys": "measurements", "disruption_baselines": "disruption_baselines",
    "disruption_baseline_rows": "disruption_baseline_rows", "patterns": "patterns",
    "pattern_versions": "pattern_versions", "pattern_audit": "pattern_audit",
    "log_scans": "log_scans", "matches": "matches", "scans": "scans",
    "breakages": "breakages", "work": "work", "github_publications": "github_publications",
}
NOT_COPIED = {
    "schema_version": "the target's own migrations",
    "leases": "expiring locks of running processes",
    "transfer_progress": "the copy's own bookkeeping",
    "sqlite_sequence": "SQLite's counters, moved by the inserted ids",
}


def test_every_table_is_copied_or_deliberately_not(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path / 'x.db'}")
    store.migrate()
    tables = {name for (name,) in store.connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_stat%'")}
    store.close()
    assert tables - COPIED.keys() - NOT_COPIED.keys() == set(), "tables db copy does not copy"
    assert COPIED.keys() - tables == set()
