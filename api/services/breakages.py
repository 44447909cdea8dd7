"""Known breakages (SPEC §10): declared and resolved by an admin, who is recorded on the
breakage (its audit trail: ``created_by``, ``resolved_by`` and when), listed for everyone.

While a breakage is ongoing, failures of its jobs that match its pattern are ``known``
(:mod:`api.failures.classify`), which is why declaring one is an admin act: it explains
failures away.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from api.domain import Page
from api.failures.model import Breakage
from api.services.errors import InvalidInput
from api.store import NotFound, Store
from api.store.breakages import BreakageResolved

# Ids beyond this name nothing (the store's integers; JSON-safe for every client).
MAX_ID = 2**53


class AlreadyResolved(Exception):
    """A resolution is never overwritten (the web layer answers 409)."""


def _check_id(breakage_id: int) -> None:
    if not 1 <= breakage_id <= MAX_ID:
        raise NotFound(f"no breakage {breakage_id}")


def declare(store: Store, *, cause: str, jobs: Sequence[str], pattern_id: int | None,
            notes: str, started: datetime | None, actor: str,
            now: datetime | None = None) -> Breakage:
    """Declare an ongoing breakage; ``started`` (default now) may not be in the future, and
    ``pattern_id`` must name a pattern (a retired one too: it keeps explaining)."""
    now = now or datetime.now(UTC)
    if started is not None and started > now:
        raise InvalidInput({"started": ["must not be in the future"]})
    if pattern_id is not None and not store.patterns.patterns_by_ids([pattern_id]):
        raise InvalidInput({"pattern_id": [f"no pattern {pattern_id}"]})
    return store.breakages.add_breakage(cause=cause, jobs=jobs, pattern_id=pattern_id,
                                        notes=notes, actor=actor, started=started)


def get(store: Store, breakage_id: int) -> Breakage:
    _check_id(breakage_id)
    return store.breakages.get_breakage(breakage_id)


def resolve(store: Store, breakage_id: int, *, resolution: str, resolved: datetime | None,
            actor: str, now: datetime | None = None) -> Breakage:
    """Resolve with the commit or payload that fixed it, at ``resolved`` (default now)."""
    now = now or datetime.now(UTC)
    found = get(store, breakage_id)
    at = resolved or now
    if at > now:
        raise InvalidInput({"resolved": ["must not be in the future"]})
    if at < found.started:
        raise InvalidInput({"resolved": ["must not be before the breakage started"]})
    try:
        return store.breakages.resolve_breakage(breakage_id, resolution=resolution,
                                                actor=actor, at=at)
    except BreakageResolved as err:
        raise AlreadyResolved(str(err)) from None


def list_breakages(store: Store, *, ongoing: bool | None, job: str | None, limit: int,
                   cursor: str | None) -> Page:
    return store.breakages.list_breakages(ongoing=ongoing, job=job, limit=limit, cursor=cursor)
