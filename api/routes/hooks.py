"""``POST /hooks/github``: GitHub's webhook deliveries, verified and queued, nothing more.

The ``X-Hub-Signature-256`` HMAC of the raw body is checked (constant time) before a byte of it
is parsed; a server without ``FLAKEGATE_GITHUB_WEBHOOK_SECRET`` refuses every delivery (403,
saying so). A delivery of an event flakegate works on is stored in the durable work queue under
its ``X-GitHub-Delivery`` id (``once``: a redelivery is recognised and does nothing) and
answered at once; the work happens in the server workers' work schedule
(:mod:`api.serving.work_schedule`), so GitHub's 10 s are never at risk and a crash after the
answer loses nothing. The signature is the authentication: no flakegate token is involved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from api.db import get_store
from api.errors import ApiError
from api.hooks.deliveries import HANDLERS, PULL_REQUEST_ACTIONS
from api.hooks.publish_trigger import (
    DELIVERY,
    after_baseline,
    after_payload_write,
    after_run_write,
    github_configured,
)
from api.hooks.signature import valid_signature
from api.names import PLAIN

bp = Blueprint("hooks", __name__)
log = logging.getLogger(__name__)

DELIVERY_ID_MAX = 128


def _raw_body() -> bytes:
    limit = int(current_app.config["GITHUB_WEBHOOK_MAX_BYTES"])
    if request.content_length is None:
        raise ApiError(411, "a webhook delivery must carry a Content-Length",
                       code="length_required")
    if request.content_length > limit:
        raise ApiError(413, f"a webhook delivery may be at most {limit} bytes")
    return request.get_data(cache=True)


def _payload(raw: bytes) -> Any:
    # GitHub sends JSON, or (content type "application/x-www-form-urlencoded") a form whose
    # `payload` field is the JSON.
    text: str | None
    if request.mimetype == "application/x-www-form-urlencoded":
        text = request.form.get("payload")
    else:
        text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text or "")
    except (ValueError, RecursionError):
        raise ApiError(400, "the delivery is not JSON", code="invalid_json") from None


def _ignored(event: str, payload: Mapping[str, Any]) -> str | None:
    """Why a delivery needs no work, or None."""
    action = payload.get("action")
    if event not in HANDLERS:
        return f"event {event!r} is not used by flakegate"
    if event in ("workflow_job", "workflow_run") and action != "completed":
        return f"{event} {action!r}: only completed ones are recorded"
    if event == "pull_request" and action not in PULL_REQUEST_ACTIONS:
        return f"pull_request {action!r} changes nothing published"
    return None


@bp.post("/hooks/github")
def github_hook() -> tuple[Response, int]:
    secret = current_app.config.get("GITHUB_WEBHOOK_SECRET")
    if not secret:
        raise ApiError(403, "webhooks are off on this server: set"
                            " FLAKEGATE_GITHUB_WEBHOOK_SECRET to the webhook's secret",
                       code="webhooks_off")
    raw = _raw_body()
    if not valid_signature(secret, raw, request.headers.get("X-Hub-Signature-256")):
        raise ApiError(401, "the X-Hub-Signature-256 signature does not match the body",
                       code="bad_signature")
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if not event or not delivery or len(delivery) > DELIVERY_ID_MAX or not PLAIN.match(delivery):
        raise ApiError(400, "a delivery needs X-GitHub-Event and an X-GitHub-Delivery id")
    payload = _payload(raw)
    if not isinstance(payload, dict):
        raise ApiError(400, "the delivery is not a JSON object", code="invalid_json")
    if event == "ping":
        return jsonify({"delivery": delivery, "event": event, "queued": False,
                        "zen": str(payload.get("zen", "")), "hook_id": payload.get("hook_id")}
                       ), 200
    reason = _ignored(event, payload)
    if reason is not None:
        return jsonify({"delivery": delivery, "event": event, "queued": False,
                        "reason": reason}), 202
    queued = get_store().work.enqueue(
        # ASCII escapes: a lone surrogate GitHub never sends must still not break the write.
        DELIVERY, delivery, json.dumps({"event": event, "payload": payload}), once=True)
    if not queued.created:
        return jsonify({"delivery": delivery, "event": event, "queued": False,
                        "reason": "a redelivery: this delivery was received before"}), 200
    log.info("github delivery %s (%s) queued as %s", delivery, event, queued.item.id)
    return jsonify({"delivery": delivery, "event": event, "queued": True,
                    "work_id": queued.item.id}), 202


# -- publications after API writes (api/hooks/publish_trigger.py) ------------------------------

# The writes of the API that may change a verdict of their run's payload.
_RUN_WRITES = frozenset({"runs.put_run", "junit.attach_junit", "artifacts.attach_artifacts",
                         "logs.put_log"})
_BASELINE_WRITES = frozenset({"baselines.compute_baseline", "baselines.loosen"})


@bp.after_app_request
def _publish_after_write(response: Response) -> Response:
    """Queue a publication after a successful write to a GitHub run or its payload."""
    endpoint, args = request.endpoint, request.view_args or {}
    if response.status_code not in (200, 201) or not github_configured(current_app.config):
        return response
    try:
        if endpoint in _RUN_WRITES:
            after_run_write(get_store(), current_app.config,
                            get_store().get_run(args["job"], args["run_id"]))
        elif endpoint == "payloads.put_payload":
            after_payload_write(get_store(), current_app.config, args["payload_id"])
        elif endpoint in _BASELINE_WRITES:
            after_baseline(get_store(), current_app.config, args["job"])
    except Exception:  # the write stands; its publication waits for the next write
        log.exception("queueing a publication after %s failed", endpoint)
    return response
