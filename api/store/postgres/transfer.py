"""The PostgreSQL :class:`~api.store.transfer.TransferStore`: SQLite's, plus identity counters.

The shared import inserts the ids users see (audit ``seq``, pattern, pattern audit, scan and
breakage ids) as they were in the source. SQLite's next id is always ``max(id) + 1``; an
identity column's sequence here does not move when a row brings its own id, so after such a
batch the sequence is set to the column's maximum: the target's next audit entry, pattern or
breakage then gets the next number, as it would have in the source.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.store.sqlite.transfer import SqliteTransfer
from api.store.transfer import Row

# Logical table -> (table, identity column) whose ids the import inserts explicitly.
_IDENTITIES = {"audit": ("audit", "id"), "patterns": ("patterns", "id"),
               "pattern_audit": ("pattern_audit", "seq"), "scans": ("scans", "id"),
               "breakages": ("breakages", "id")}


class PgTransfer(SqliteTransfer):
    def import_rows(self, table: str, rows: Sequence[Row]) -> int:
        added = super().import_rows(table, rows)
        # Also when nothing was added: a copy killed after a batch's commit and before this
        # statement re-imports that batch on resume (adding nothing) and must still move them.
        if rows and table in _IDENTITIES:
            name, column = _IDENTITIES[table]
            with self._db.write() as tx:
                tx.conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'),"
                    f" (SELECT max({column}) FROM {name}))")
        return added
