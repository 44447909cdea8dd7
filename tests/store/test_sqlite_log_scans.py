"""Migration 0011 (issue 13, scan speed): scan records keyed by pattern first keep every row
recorded before it, and a pattern's records are found by key."""

from __future__ import annotations

from pathlib import Path

from api.store.sqlite.schema import apply_migrations, connect, load_migrations


def test_the_rekeyed_scan_records_keep_every_row_and_are_found_by_pattern(
        tmp_path: Path) -> None:
    conn = connect(tmp_path / "old.db", busy_timeout=5)
    before = tuple(m for m in load_migrations() if m.version < 11)
    apply_migrations(conn, before)
    conn.execute("INSERT INTO jobs (name, created_at, updated_at) VALUES ('j', 0, 0)")
    for pk in (1, 2):
        conn.execute("INSERT INTO runs (pk, job_id, run_id, status, created_at, updated_at)"
                     " VALUES (?, 1, ?, 'failure', 0, 0)", (pk, str(pk)))
    for pid in (1, 2):
        conn.execute("INSERT INTO patterns (id, version, author, created_at)"
                     " VALUES (?, 1, 'a', 0)", (pid,))
    rows = [(pk, step, pid, pid + pk) for pk in (1, 2) for step in ("build", "test")
            for pid in (1, 2)]
    conn.executemany("INSERT INTO log_scans (run_pk, step, pattern_id, version)"
                     " VALUES (?, ?, ?, ?)", rows)
    assert apply_migrations(conn, load_migrations()) == load_migrations()[-1].version
    assert sorted(conn.execute("SELECT run_pk, step, pattern_id, version FROM log_scans")
                  ) == sorted(rows)
    plan = " ".join(row[3] for row in conn.execute(
        "EXPLAIN QUERY PLAN SELECT version FROM log_scans WHERE pattern_id = 2 AND run_pk = 1"))
    assert "PRIMARY KEY (pattern_id=? AND run_pk=?)" in plan
    conn.execute("DELETE FROM runs WHERE pk = 1")  # the trigger finds the run's rows by key
    assert sorted(conn.execute("SELECT run_pk, step, pattern_id, version FROM log_scans")
                  ) == [row for row in sorted(rows) if row[0] == 2]
    conn.close()
