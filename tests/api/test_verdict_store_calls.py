"""A verdict poll answered 304 costs a bounded number of store calls, whatever the job count.

The store is wrapped where requests obtain it (``api.db.open_store``) so every
call a request makes on it is counted.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from api import db
from api.store import Store
from tests.api.history import names_of_tests, put_run
from tests.conftest import ApiClient

PAYLOAD = "4.19.0-0.nightly-2026-11-20-101010"
JOBS = [f"e2e-{index}" for index in range(5)]


class CountingStore:
    """Forwards to a real store and records the name of every method called on it."""

    def __init__(self, real: Store, calls: list[str]) -> None:
        self._real = real
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if not callable(attribute) or name == "close":
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(name)
            return attribute(*args, **kwargs)

        return counted


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    recorded: list[str] = []
    real_open = db.open_store
    monkeypatch.setattr(db, "open_store",
                        lambda url, **options: CountingStore(real_open(url, **options), recorded))
    return recorded


def test_a_304_poll_of_a_payload_with_5_jobs_makes_at_most_2_store_calls(
        app: Flask, tokens: dict[str, str], calls: list[str]) -> None:
    admin = ApiClient(app, tokens["admin"])
    assert admin.put(f"/payloads/{PAYLOAD}",
                     json={"expected": dict.fromkeys(JOBS, 2)}).status_code == 201
    for job in JOBS:
        for run in range(2):
            put_run(admin, job, f"r{run}", payload=PAYLOAD,
                    outcomes=dict.fromkeys(names_of_tests(5), "passed"))
    reader = ApiClient(app, tokens["read"])
    first = reader.get(f"/payloads/{PAYLOAD}/verdict")
    assert first.status_code == 200 and len(first.json["jobs"]) == 5
    calls.clear()
    again = reader.get(f"/payloads/{PAYLOAD}/verdict",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert len(calls) <= 2, calls
    assert "verdict_inputs" in calls
