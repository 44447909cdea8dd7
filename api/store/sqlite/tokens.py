"""API tokens in the SQLite backend (a part of SqliteStore): kept by hash, listed by id."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from api.domain import Page, Scope
from api.store.base import TOKEN_ID_LENGTH, NotFound, TokenInfo
from api.store.codec import from_us, now_us, to_us
from api.store.cursor import decode_cursor, encode_cursor
from api.store.rows import check_limit
from api.store.sqlite.db import Database

_COLUMNS = "id, scope, label, created_at, expires_at, revoked_at, revoked_by, last_used_at"


def _token_of(row: tuple[Any, ...]) -> TokenInfo:
    ident, scope, label, created, expires, revoked, revoked_by, used = row
    created_at = from_us(created)
    assert created_at is not None
    return TokenInfo(id=str(ident), scope=Scope(str(scope)), label=str(label),
                     created_at=created_at, expires_at=from_us(expires),
                     revoked_at=from_us(revoked), revoked_by=revoked_by,
                     last_used_at=from_us(used))


def _by_id(conn: sqlite3.Connection, token_id: str) -> TokenInfo | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM tokens WHERE id = ?", (token_id,)).fetchone()
    return None if row is None else _token_of(row)


class SqliteTokens:
    """Tokens on the store's :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_token(self, token_hash: str, scope: Scope, label: str,
                  expires_at: datetime | None = None) -> TokenInfo:
        token_id = token_hash[:TOKEN_ID_LENGTH]
        with self._db.write() as tx:
            tx.conn.execute(
                "INSERT INTO tokens (hash, id, scope, label, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO UPDATE SET"
                " scope = excluded.scope, label = excluded.label,"
                " expires_at = excluded.expires_at",
                (token_hash, token_id, Scope(scope).value, label, now_us(), to_us(expires_at)),
            )
            found = _by_id(tx.conn, token_id)
        assert found is not None
        return found

    def find_token(self, token_hash: str) -> TokenInfo | None:
        row = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM tokens WHERE hash = ?", (token_hash,)).fetchone()
        return None if row is None else _token_of(row)

    def list_tokens(self, *, limit: int, cursor: str | None = None) -> Page:
        check_limit(limit)
        created, after = (decode_cursor(cursor, "tokens", (int, str)) if cursor
                          else (-(2**62), ""))
        rows = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM tokens WHERE (created_at, id) > (?, ?)"
            " ORDER BY created_at, id LIMIT ?", (created, after, limit + 1)).fetchall()
        items = tuple(_token_of(row) for row in rows[:limit])
        if len(rows) <= limit:
            return Page(items, None)
        last = rows[limit - 1]
        return Page(items, encode_cursor("tokens", [int(last[3]), str(last[0])]))

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> TokenInfo:
        with self._db.write() as tx:
            changed = tx.conn.execute(
                "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?),"
                " revoked_by = coalesce(revoked_by, ?) WHERE id = ?",
                (to_us(at), actor, token_id)).rowcount
            if not changed:
                raise NotFound(f"no token {token_id!r}")
            found = _by_id(tx.conn, token_id)
        assert found is not None
        return found

    def touch_token(self, token_id: str, at: datetime) -> None:
        with self._db.write() as tx:
            tx.conn.execute(
                "UPDATE tokens SET last_used_at = max(coalesce(last_used_at, 0), ?)"
                " WHERE id = ?", (to_us(at), token_id))
