"""Background work in every server worker: a thread (the StoreTicker of
:mod:`api.serving.periodic`) that claims due items of the durable queue
(:mod:`api.store.work`) and works them off: webhook deliveries and publications.

Every ``FLAKEGATE_WORK_EVERY`` (default ``2s``; ``0`` turns it off) the thread claims items one
at a time until none is due or a tick's budget is spent. Workers of every server on the database
share the queue through its leases: an item is worked by one worker at a time, and the item of
a worker that died is taken over when its lease (``FLAKEGATE_WORK_LEASE_SECONDS``) expires.

A failure is retried with exponential backoff (5 s, 10 s, 20 s ... at most an hour); after
``FLAKEGATE_WORK_MAX_ATTEMPTS`` attempts (a crash while holding the item counts), or at once for
an item no retry can fix, the item is ``dead``: kept, listed for admins at ``GET /work``.
Done items are purged after a while (deliveries after 30 days, so that a redelivery GitHub
still offers is recognised; publications after a day).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from api.github.client import GitHubClient, client_from_config
from api.github.errors import GitHubRateLimited
from api.github.publish import PublishIncomplete
from api.hooks.deliveries import WorkContext, handle_delivery
from api.hooks.events import BadEvent
from api.hooks.publish_trigger import DELIVERY, PUBLISH
from api.hooks.publishing import publish_item
from api.serving.periodic import StoreTicker, process_holder
from api.store import Store
from api.store.work import WorkItem
from client.durations import parse_duration

MAX_BUDGET_S = 30.0  # a tick's budget: the thread shares its process with requests
BACKOFF_S = 5.0
MAX_BACKOFF_S = 3600.0
PURGE_EVERY_S = 3600.0
KEEP = {DELIVERY: timedelta(days=30), PUBLISH: timedelta(days=1)}

Handler = Callable[[Store, WorkContext, WorkItem], str]


def work_period(config: Mapping[str, Any]) -> float:
    """Seconds between ticks from ``WORK_EVERY``; 0: off."""
    raw = config["WORK_EVERY"]
    try:
        return parse_duration(str(raw))
    except ValueError:
        raise ValueError(f"FLAKEGATE_WORK_EVERY must be a duration such as 2s, or 0 to turn"
                         f" background work off; got {raw!r}") from None


def retry_delay(attempts: int) -> float:
    return min(MAX_BACKOFF_S, BACKOFF_S * 2 ** max(attempts - 1, 0))


def _delivery(store: Store, ctx: WorkContext, item: WorkItem) -> str:
    return handle_delivery(store, ctx, item.body)


class WorkSchedule:
    """One process's share of the queued work: :meth:`tick` on its own thread."""

    def __init__(self, database: str, every: float, config: Mapping[str, Any], *,
                 github: GitHubClient | None,
                 handlers: Mapping[str, Handler] | None = None,
                 log: Callable[[str], None] = lambda message: None) -> None:
        if every <= 0:
            raise ValueError("the schedule needs a positive period")
        self.every = every
        self.holder = process_holder()
        self.lease_s = float(config["WORK_LEASE_SECONDS"])
        self.max_attempts = int(config["WORK_MAX_ATTEMPTS"])
        self.context = WorkContext(config, github)
        self.handlers: dict[str, Handler] = {DELIVERY: _delivery, PUBLISH: publish_item,
                                             **(handlers or {})}
        self._log = log
        self._purged = 0.0
        self._ticker = StoreTicker(database, every, self.tick, name="work", log=log)

    def start(self) -> None:
        self._ticker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._ticker.stop(timeout)

    def tick(self, store: Store) -> int:
        """Work off due items for at most one tick's budget; returns how many were taken."""
        deadline = time.monotonic() + min(self.every, MAX_BUDGET_S)
        taken = 0
        while time.monotonic() < deadline:
            item = store.work.claim(self.holder, self.lease_s, kinds=tuple(self.handlers))
            if item is None:
                break
            taken += 1
            self.work_one(store, item)
        if time.monotonic() - self._purged > PURGE_EVERY_S:
            self._purged = time.monotonic()
            now = datetime.now(UTC)
            for kind, keep in KEEP.items():
                store.work.purge_work(kind, now - keep)
        return taken

    def work_one(self, store: Store, item: WorkItem) -> None:
        label = f"{item.kind} {item.key} (attempt {item.attempts})"
        if item.attempts > self.max_attempts:  # its workers kept dying while holding it
            store.work.fail(item.id, self.holder, "attempts spent", retry_at=None)
            self._log(f"work: {label} dead: attempts spent")
            return
        try:
            summary = self.handlers[item.kind](store, self.context, item)
        except BadEvent as exc:
            store.work.fail(item.id, self.holder, f"unusable: {exc}", retry_at=None)
            self._log(f"work: {label} dead: {exc}")
            return
        except Exception as exc:  # retried: GitHub or the store may be back next time
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if item.attempts >= self.max_attempts:
                store.work.fail(item.id, self.holder, error, retry_at=None)
                self._log(f"work: {label} dead: {error}")
            else:
                wait = retry_delay(item.attempts)
                asked = exc.retry_after if isinstance(exc, (GitHubRateLimited,
                                                            PublishIncomplete)) else None
                if asked is not None:  # no sooner than GitHub asked
                    wait = max(wait, asked)
                at = datetime.now(UTC) + timedelta(seconds=wait)
                store.work.fail(item.id, self.holder, error, retry_at=at)
                self._log(f"work: {label} failed, retried at {at:%H:%M:%S}: {error}")
            return
        if not store.work.complete(item.id, self.holder):
            self._log(f"work: {label} finished after its lease expired (another worker took"
                      " it over)")
            return
        self._log(f"work: {label} done: {summary}")


def start_work_schedule(database: str, config: Mapping[str, Any], *,
                        log: Callable[[str], None]) -> WorkSchedule | None:
    """The running work schedule of this worker, or None when ``WORK_EVERY`` is 0."""
    every = work_period(config)
    if every <= 0:
        return None
    schedule = WorkSchedule(database, every, config, github=client_from_config(config),
                            log=log)
    schedule.start()
    return schedule

