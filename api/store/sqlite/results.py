"""Writing a run's test results: interning names, bulk inserts, merging attached files.

All functions run inside the caller's write transaction and issue a fixed number of
statements per call, whatever the number of tests: bulk rows go through one ``executemany``.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import sqlite3
from collections.abc import Sequence
from typing import Any

from api.domain import RunCounts
from api.store.batch import Entry
from api.store.codec import merge_entry

# Names to resolve are staged in a per-connection temporary table: one executemany fills it,
# then one join maps every name to its id in input order (the staging rowid), and the missing
# ones are interned straight from it. Measured on a 7,353-test run this is about twice as fast
# as passing the names as one JSON array to json_each, and it has no parameter-count limit.
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS wanted"
    " (i INTEGER PRIMARY KEY, suite TEXT NOT NULL, name TEXT NOT NULL)"
)
_RESOLVE = (
    "SELECT t.id FROM temp.wanted AS w"
    " LEFT JOIN tests AS t ON t.suite = w.suite AND t.name = w.name ORDER BY w.i"
)


def test_ids(conn: sqlite3.Connection, keys: list[tuple[str, str]]) -> list[int]:
    """Interned ids of ``(suite, name)`` keys, in order, interning the ones not seen before."""
    conn.execute(_STAGE)
    conn.execute("DELETE FROM temp.wanted")
    conn.executemany("INSERT INTO temp.wanted (suite, name) VALUES (?, ?)", keys)
    ids = [row[0] for row in conn.execute(_RESOLVE)]
    if None in ids:
        # Only the new names get a key computed (a SHA-256 each, once per test ever); the
        # WHERE also resolves the parsing ambiguity of INSERT ... SELECT ... ON CONFLICT.
        conn.execute(
            "INSERT INTO tests (suite, name, key)"
            " SELECT suite, name, flakegate_test_key(suite, name) FROM temp.wanted AS w"
            " WHERE NOT EXISTS (SELECT 1 FROM tests AS t"
            " WHERE t.suite = w.suite AND t.name = w.name)"
            " ON CONFLICT (suite, name) DO NOTHING"
        )
        ids = [row[0] for row in conn.execute(_RESOLVE)]
    conn.execute("DELETE FROM temp.wanted")
    if len(ids) != len(keys) or None in ids:
        raise RuntimeError("test name interning lost a name")
    return ids


def insert_results(
    conn: sqlite3.Connection,
    pk: int,
    triples: list[tuple[int, int, int | None]],
    notes: list[tuple[int, str]],
    informing: Sequence[int] = (),
) -> None:
    """Insert ``(test_id, status, duration_ms)`` rows, ``(test_id, message)`` rows and the
    ids of informing results."""
    # The run's pk is inlined (an int from the database, so nothing to inject) because it is
    # the same for every row: executemany then takes the triples as they are, with no
    # per-row Python work to prepend it.
    pk = int(pk)
    conn.executemany(
        f"INSERT INTO results (run_pk, test_id, status, duration_ms) VALUES ({pk}, ?, ?, ?)",
        triples,
    )
    if notes:
        conn.executemany(
            f"INSERT INTO messages (run_pk, test_id, message) VALUES ({pk}, ?, ?)", notes
        )
    if informing:
        conn.executemany(f"INSERT INTO informing (run_pk, test_id) VALUES ({pk}, ?)",
                         [(test_id,) for test_id in informing])


def forget_tests(conn: sqlite3.Connection, pk: int) -> None:
    """Drop a run's results, messages, informing marks and attached files (the marks and
    messages first: they reference results)."""
    conn.execute("DELETE FROM messages WHERE run_pk = ?", (pk,))
    conn.execute("DELETE FROM informing WHERE run_pk = ?", (pk,))
    conn.execute("DELETE FROM results WHERE run_pk = ?", (pk,))
    conn.execute("DELETE FROM files WHERE run_pk = ?", (pk,))


def merge_results(
    conn: sqlite3.Connection, pk: int, incoming: dict[tuple[str, str], Entry]
) -> None:
    """Fold tests into the run's stored results with :func:`api.domain.merge_status`."""
    if not incoming:
        return
    pk = int(pk)
    ids = test_ids(conn, list(incoming))
    stored = _stored_entries(conn, pk, ids)
    rows: list[tuple[int, int, int | None]] = []
    notes: list[tuple[int, str]] = []
    marked: list[tuple[int]] = []
    for test_id, entry in zip(ids, incoming.values(), strict=True):
        old = stored.get(test_id)
        status, duration, message, informing = entry if old is None else merge_entry(old, entry)
        rows.append((test_id, status, duration))
        if message is not None:
            notes.append((test_id, message))
        if informing and not (old is not None and old[3]):
            marked.append((test_id,))
    rows.sort()
    conn.executemany(
        "INSERT INTO results (run_pk, test_id, status, duration_ms)"
        f" VALUES ({pk}, ?, ?, ?) ON CONFLICT (run_pk, test_id) DO UPDATE SET"
        " status = excluded.status, duration_ms = excluded.duration_ms",
        rows,
    )
    conn.executemany(
        f"INSERT INTO messages (run_pk, test_id, message) VALUES ({pk}, ?, ?)"
        " ON CONFLICT (run_pk, test_id) DO UPDATE SET message = excluded.message",
        notes,
    )
    conn.executemany(f"INSERT INTO informing (run_pk, test_id) VALUES ({pk}, ?)", marked)
    kept = {test_id for test_id, _ in notes}
    dropped = [(t,) for t, old in stored.items() if old[2] is not None and t not in kept]
    conn.executemany(f"DELETE FROM messages WHERE run_pk = {pk} AND test_id = ?", dropped)


def _stored_entries(conn: sqlite3.Connection, pk: int, ids: list[int]) -> dict[int, Entry]:
    """The run's stored results for ``ids``, by test id."""
    # A run's first file (the usual upload) has nothing to merge with: skip the lookup.
    if conn.execute("SELECT 1 FROM results WHERE run_pk = ? LIMIT 1", (pk,)).fetchone() is None:
        return {}
    # CROSS JOIN pins the id list as the outer loop: left to itself the planner walks the
    # run's results and rescans the list for each (quadratic: seconds for 7,353 tests).
    rows = conn.execute(
        "SELECT r.test_id, r.status, r.duration_ms, m.message, i.test_id IS NOT NULL"
        " FROM json_each(?) AS k"
        " CROSS JOIN results AS r ON r.run_pk = ? AND r.test_id = k.value"
        " LEFT JOIN messages AS m ON m.run_pk = r.run_pk AND m.test_id = r.test_id"
        " LEFT JOIN informing AS i ON i.run_pk = r.run_pk AND i.test_id = r.test_id",
        (json.dumps(ids), pk),
    )
    return {test_id: (status, duration, message, bool(informing))
            for test_id, status, duration, message, informing in rows}


def fingerprint_of(triples: list[tuple[int, int, int | None]], messages: list[Any],
                   informing: list[int] | None = None) -> bytes:
    """Identity of a run's results as put: sorted by test id, which is stable per database.

    marshal format 2 (no back-references) serialises ints, None, str and tuples the same way
    every time and is ~8x faster than repr; a Python upgrade that changed it would only turn
    one identical re-put into an UPDATED write.
    """
    # Informing ids join the identity only when there are some: runs without keep theirs.
    identity = (triples, messages, informing) if informing else (triples, messages)
    return hashlib.blake2b(marshal.dumps(identity, 2), digest_size=16).digest()


EMPTY_FINGERPRINT = fingerprint_of([], [])


def count_columns(counts: RunCounts) -> tuple[int, ...]:
    return (
        counts.total,
        counts.passed,
        counts.failed,
        counts.errors,
        counts.skipped,
        counts.flaked,
    )
