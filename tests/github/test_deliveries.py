"""The webhook delivery builder: payloads GitHub could send (validated against its schema),
signed as GitHub signs them."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.github_deliveries import (
    build_delivery,
    schema_errors,
    shipped_example,
    webhook_spec,
    workflow_job_completed,
    workflow_run_completed,
)


@pytest.mark.parametrize("webhook", sorted(webhook_spec()["webhooks"]))
def test_every_described_event_builds_a_valid_signed_delivery(webhook: str) -> None:
    delivery = build_delivery(webhook, secret="s3cret")
    assert schema_errors(webhook, json.loads(delivery.body)) == []
    expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert delivery.headers["X-GitHub-Event"] == delivery.event
    assert delivery.headers["X-GitHub-Delivery"] == delivery.delivery_id


def test_workflow_job_completed_carries_what_the_test_says() -> None:
    delivery = workflow_job_completed(secret="s", repository="octo/widgets", run_id=5,
                                      job_id=6, name="test (3)", workflow_name="CI",
                                      head_sha="b" * 40, conclusion="failure", run_attempt=2)
    job = delivery.payload["workflow_job"]
    assert (job["id"], job["run_id"], job["run_attempt"], job["conclusion"]) == (6, 5, 2,
                                                                                 "failure")
    assert delivery.event == "workflow_job" and delivery.payload["action"] == "completed"
    assert delivery.payload["repository"]["full_name"] == "octo/widgets"
    run = workflow_run_completed(secret="s", repository="octo/widgets", run_id=5, name="CI",
                                 head_sha="b" * 40).payload["workflow_run"]
    assert (run["id"], run["head_sha"]) == (5, "b" * 40)


def test_a_payload_github_could_not_send_is_refused() -> None:
    with pytest.raises(ValueError, match="schema"):
        workflow_job_completed(secret="s", repository="octo/widgets", run_id=5, job_id=6,
                               name="x", workflow_name="CI", head_sha="b" * 40,
                               conclusion="maybe")


def test_the_example_github_ships_is_the_starting_point() -> None:
    shipped = shipped_example("ping")
    assert shipped is not None and shipped["hook_id"]
    assert build_delivery("ping", secret="s").payload == shipped
    assert shipped_example("workflow-job-completed") is None  # built from the schema instead
