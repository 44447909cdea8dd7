"""Leases of the BigQuery backend (a part of BigQueryStore): named expiring locks.

Taking a lease is one MERGE that inserts a free name or takes over an expired (or own) row;
BigQuery runs DML statements on a table one at a time, so of two racing MERGEs one changes the
row and the other finds it held (or is aborted as a conflict: a lost race either way). Expiry
uses the server's clock, so servers with skewed clocks still agree.
"""

from __future__ import annotations

import contextlib

from api.store.bigquery.client import Conflict, Connection


class BigQueryLeases:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        c = self._conn
        try:
            changed = c.execute(
                f"MERGE {c.table('leases')} T USING (SELECT @name AS name) S ON T.name = S.name"
                " WHEN MATCHED AND (T.expires_at <= CURRENT_TIMESTAMP() OR T.holder = @holder)"
                " THEN UPDATE SET holder = @holder, expires_at = TIMESTAMP_ADD("
                "CURRENT_TIMESTAMP(), INTERVAL @ms MILLISECOND)"
                " WHEN NOT MATCHED THEN INSERT (name, holder, expires_at) VALUES (@name,"
                " @holder, TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @ms MILLISECOND))",
                name=name, holder=holder, ms=max(1, int(ttl_s * 1000)))
        except Conflict:
            return False
        return changed == 1

    def release_lease(self, name: str, holder: str) -> None:
        c = self._conn
        with contextlib.suppress(Conflict):  # a lease left behind expires anyway
            c.execute(f"DELETE FROM {c.table('leases')} WHERE name = @name AND holder = @holder",
                      name=name, holder=holder)
