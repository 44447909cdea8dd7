"""Working off a queued publication: :func:`api.github.publish.publish_payload` with the
worker's GitHub client (kept for the worker's life, so an App's installation tokens are reused)
and the server's configuration. A publication GitHub refused in part raises
:class:`~api.github.publish.PublishIncomplete`: the schedule retries it (publishing again is
idempotent), no sooner than GitHub asked."""

from __future__ import annotations

import json

from api.github.publish import publish_payload
from api.hooks.deliveries import WorkContext
from api.hooks.events import BadEvent
from api.services.patterns import generic_share
from api.store import Store
from api.store.work import WorkItem


def publish_item(store: Store, ctx: WorkContext, item: WorkItem) -> str:
    try:
        payload = json.loads(item.body)["payload"]
    except (ValueError, KeyError, TypeError):
        raise BadEvent("a queued publication without a payload") from None
    if not isinstance(payload, str):
        raise BadEvent("a queued publication without a payload")
    if ctx.github is None:
        return "GitHub is not configured (no token or App): nothing published"
    result = publish_payload(store, ctx.github, payload,
                             public_url=str(ctx.config.get("PUBLIC_URL") or ""),
                             generic_share=generic_share(ctx.config["GENERIC_PATTERN_SHARE"]))
    if result.reason:
        return f"{payload}: {result.reason}"
    done = ", ".join(f"{o.target} {o.action}" for o in result.outcomes)
    return f"{payload} ({result.verdict}): {done}"
