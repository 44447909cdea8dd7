"""API tokens in the BigQuery backend (a part of BigQueryStore): kept by hash, listed by id.

Each write is one DML statement (atomic in BigQuery); the per-dataset lock serialises this
process's writers, and every statement is correct whichever of two processes runs first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.domain import Page, Scope
from api.store.base import TOKEN_ID_LENGTH, NotFound, TokenInfo
from api.store.bigquery.client import Connection, Typed
from api.store.bigquery.rows import now_us, ts
from api.store.codec import to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit

# A row put before the id column existed has none: its id is derived the same way.
_ID = f"COALESCE(id, SUBSTR(hash, 1, {TOKEN_ID_LENGTH}))"
_COLUMNS = (f"{_ID} AS id, scope, label, created_at, expires_at, revoked_at, revoked_by,"
            " last_used_at")


def _token_of(row: tuple[Any, ...]) -> TokenInfo:
    ident, scope, label, created, expires, revoked, revoked_by, used = row
    return TokenInfo(id=str(ident), scope=Scope(str(scope)), label=str(label),
                     created_at=created, expires_at=expires, revoked_at=revoked,
                     revoked_by=revoked_by, last_used_at=used)


class BigQueryTokens:
    """Tokens on the store's :class:`Connection`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _select(self, where: str, **params: Any) -> TokenInfo | None:
        c = self._conn
        rows = c.rows(f"SELECT {_COLUMNS} FROM {c.table('tokens')} WHERE {where}", **params)
        return _token_of(rows[0]) if rows else None

    def add_token(self, token_hash: str, scope: Scope, label: str,
                  expires_at: datetime | None = None) -> TokenInfo:
        c = self._conn
        to_us(expires_at)  # refuse a naive time before writing
        with c.lock:
            c.execute(f"MERGE {c.table('tokens')} T USING (SELECT @hash AS hash) S"
                      " ON T.hash = S.hash WHEN MATCHED THEN UPDATE SET scope = @scope,"
                      " label = @label, expires_at = @expires WHEN NOT MATCHED THEN INSERT"
                      " (hash, id, scope, label, created_at, expires_at) VALUES (@hash, @id,"
                      " @scope, @label, @now, @expires)",
                      hash=token_hash, id=token_hash[:TOKEN_ID_LENGTH],
                      scope=Scope(scope).value, label=label, now=ts(now_us()),
                      expires=Typed("TIMESTAMP", expires_at))
        found = self.find_token(token_hash)
        assert found is not None
        return found

    def find_token(self, token_hash: str) -> TokenInfo | None:
        return self._select("hash = @hash", hash=token_hash)

    def list_tokens(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        created, after = (decode_cursor(cursor, "tokens", (int, str)) if cursor
                          else (None, ""))
        c = self._conn
        rows = c.rows(
            f"SELECT {_COLUMNS}, UNIX_MICROS(created_at) FROM {c.table('tokens')}"
            " WHERE @created IS NULL OR UNIX_MICROS(created_at) > @created"
            f" OR (UNIX_MICROS(created_at) = @created AND {_ID} > @after)"
            f" ORDER BY created_at, {_ID} LIMIT @n",
            created=Typed("INT64", created), after=after, n=limit + 1)
        items = tuple(_token_of(row[:-1]) for row in rows[:limit])
        if len(rows) <= limit:
            return Page(items, None)
        last = rows[limit - 1]
        return Page(items, encode_cursor("tokens", [int(last[-1]), str(last[0])]))

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> TokenInfo:
        c = self._conn
        with c.lock:
            c.execute(f"UPDATE {c.table('tokens')} SET revoked_at = COALESCE(revoked_at, @at),"
                      f" revoked_by = COALESCE(revoked_by, @actor) WHERE {_ID} = @id",
                      at=Typed("TIMESTAMP", at), actor=actor, id=token_id)
        found = self._select(f"{_ID} = @id", id=token_id)
        if found is None:
            raise NotFound(f"no token {token_id!r}")
        return found

    def touch_token(self, token_id: str, at: datetime) -> None:
        c = self._conn
        with c.lock:
            c.execute(f"UPDATE {c.table('tokens')} SET last_used_at = @at WHERE {_ID} = @id"
                      " AND (last_used_at IS NULL OR last_used_at < @at)",
                      at=Typed("TIMESTAMP", at), id=token_id)
