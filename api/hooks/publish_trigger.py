"""When a payload's verdict is published again: every write that may change it queues ONE
publication (deduped by payload in the work queue, see :mod:`api.store.work`).

A publication is queued for a payload whose runs carry a GitHub repository (see
:func:`api.hooks.events.github_repository`) and only when GitHub is configured (a token or an
App): otherwise nothing would publish it. It waits ``GITHUB_PUBLISH_DELAY`` so that the jobs of
one workflow finishing together make one publication; an earlier queued one absorbs later
requests. A payload with a deadline in the future also gets a publication at the deadline (its
own key: a verdict that was pending may turn into a failure when the deadline passes). A new
baseline of a job queues the job's recent GitHub payloads (:func:`after_baseline`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from api.domain import Run
from api.hooks.events import github_repository
from api.store import Store
from api.store.records import RunFilter
from client.durations import parse_duration

PUBLISH = "github.publish"
DELIVERY = "github.delivery"
# A new baseline of a job re-judges the payloads of its runs of the last day (at most this
# many runs are looked at): the ones whose publication people may still be looking at.
RECENT = timedelta(days=1)
RECENT_RUNS = 200


def github_configured(config: Mapping[str, Any]) -> bool:
    return bool(config.get("GITHUB_TOKEN") or
                (config.get("GITHUB_APP_ID") and config.get("GITHUB_APP_PRIVATE_KEY_FILE")))


def publish_delay(config: Mapping[str, Any]) -> float:
    raw = config.get("GITHUB_PUBLISH_DELAY", "5s")
    try:
        return parse_duration(str(raw))
    except ValueError:
        raise ValueError(f"FLAKEGATE_GITHUB_PUBLISH_DELAY must be a duration such as 5s or 0;"
                         f" got {raw!r}") from None


def request_publish(store: Store, config: Mapping[str, Any], payload: str, *,
                    at: datetime | None = None) -> bool:
    """Queue a publication of ``payload``'s verdict (at ``at``, default after the delay);
    True when one is queued (new or absorbed). The caller knows the payload is GitHub's."""
    if not github_configured(config):
        return False
    if at is None:
        at = datetime.now(UTC) + timedelta(seconds=publish_delay(config))
    store.work.enqueue(PUBLISH, payload, json.dumps({"payload": payload}), not_before=at)
    registered = store.get_payload(payload)
    deadline = registered.deadline if registered is not None else None
    if deadline is not None and deadline > datetime.now(UTC):
        store.work.enqueue(PUBLISH, f"{payload}@deadline", json.dumps({"payload": payload}),
                           not_before=deadline + timedelta(seconds=1))
    return True


def after_run_write(store: Store, config: Mapping[str, Any], run: Run | None) -> bool:
    """Queue a publication when ``run`` (just written) is a GitHub run with a payload."""
    if run is None or github_repository(run) is None or run.spec.payload is None:
        return False
    return request_publish(store, config, run.spec.payload)


def after_payload_write(store: Store, config: Mapping[str, Any], payload: str) -> bool:
    """Queue a publication of ``payload`` (its registration was just written) when one of its
    jobs' runs of it is a GitHub run."""
    for summary in store.payload_runs(payload):
        page = store.list_runs(summary.job, where=RunFilter(payload=payload), limit=1)
        if page.items and github_repository(page.items[0]) is not None:
            return request_publish(store, config, payload)
    return False


def after_baseline(store: Store, config: Mapping[str, Any], job: str) -> int:
    """Queue publications of ``job``'s recent GitHub payloads (a new baseline re-judges
    them); returns how many payloads."""
    if not github_configured(config):
        return 0
    since = datetime.now(UTC) - RECENT
    page = store.list_runs(job, where=RunFilter(since=since), limit=RECENT_RUNS)
    payloads = {run.spec.payload for run in page.items
                if github_repository(run) is not None and run.spec.payload is not None}
    for payload in sorted(payloads):
        request_publish(store, config, payload)
    return len(payloads)
