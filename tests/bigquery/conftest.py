"""Fixtures of the BigQuery tests: one emulator for the session, a fresh dataset per test."""

from __future__ import annotations

import uuid

import pytest

from tests.bigquery.emulator import Emulator, shared_emulator


@pytest.fixture(scope="session")
def bq_emulator(tmp_path_factory: pytest.TempPathFactory) -> Emulator:
    return shared_emulator(tmp_path_factory.mktemp("bqemulator"))


@pytest.fixture
def bq_url(bq_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``bigquery://`` URL of a fresh, not yet created dataset, reachable from this process."""
    for name, value in bq_emulator.environ().items():
        monkeypatch.setenv(name, value)
    return f"bigquery://{bq_emulator.project}/t_{uuid.uuid4().hex[:16]}"
