"""The one pagination cursor codec of flakegate: store listings and service-level pages.

A cursor is opaque to clients: URL-safe base64 (unpadded) of a JSON array ``[kind, *key]``.
``kind`` names the listing, so a cursor of one listing is refused by another; each key part
is checked against its expected type, and integers against the 64-bit range every backend
binds (a cursor carrying 1e30 is a bad cursor, not an overflow deep in a driver). Anything
that does not decode raises :class:`~api.store.base.InvalidCursor` (the API answers 400).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from api.store.base import InvalidCursor

_INT64 = 2**63


def encode_cursor(kind: str, key: list[Any]) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _fits(part: Any, expected: type) -> bool:
    if type(part) is not expected:
        return False
    return not isinstance(part, int) or -_INT64 <= part < _INT64


def decode_cursor(cursor: str, kind: str, types: tuple[type, ...]) -> list[Any]:
    """The key packed by :func:`encode_cursor`; anything else raises :class:`InvalidCursor`."""
    try:
        if not isinstance(cursor, str) or not cursor or not cursor.isascii():
            raise ValueError("not a cursor")
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        decoded = json.loads(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    if (
        not isinstance(decoded, list)
        or len(decoded) != len(types) + 1
        or decoded[0] != kind
        or not all(_fits(part, expected) for part, expected in zip(decoded[1:], types,
                                                                      strict=True))
    ):
        raise InvalidCursor("malformed cursor")
    return decoded[1:]


def encode_offset(offset: int) -> str:
    """A cursor for a page that starts at ``offset`` of an in-memory listing."""
    return encode_cursor("offset", [offset])


def decode_offset(cursor: str | None) -> int:
    """The offset packed by :func:`encode_offset` (0 without a cursor)."""
    if cursor is None:
        return 0
    offset: int = decode_cursor(cursor, "offset", (int,))[0]
    if offset < 0:
        raise InvalidCursor("malformed cursor")
    return offset
