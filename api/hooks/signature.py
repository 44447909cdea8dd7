"""The ``X-Hub-Signature-256`` check: HMAC-SHA256 of the raw body under the webhook secret,
compared in constant time, before anything of the body is parsed."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body`` under ``secret``."""
    if not secret or not header:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII text, and a header is attacker-chosen.
    given = header.strip().encode("utf-8", "replace")
    return hmac.compare_digest(sign(secret, body).encode("ascii"), given)
