"""GitHub webhooks in (issue 14, SPEC §11): the signature check, what an event means for
flakegate (pure), the background handlers of queued deliveries, and when a payload's verdict is
published again. The route only verifies and queues (api/routes/hooks.py); the work happens in
every server worker's work schedule (api/serving/work_schedule.py)."""
