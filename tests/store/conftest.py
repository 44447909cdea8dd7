"""Store backends under test.

The contract suite (``test_contract.py``) is written against :class:`api.store.Store` only and
runs once per entry of ``BACKENDS``. Adding a backend is one line there: its name and a
function that, given the requesting test, prepares one fresh, empty database and returns an
opener of handles on it (one handle per thread, as the contract says).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api.store import Store, open_store

Opener = Callable[[], Store]
"""Opens another, not yet migrated, handle on the test's database."""


def sqlite_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    url = f"sqlite://{tmp_path / 'flakegate.db'}"
    return lambda: open_store(url)


def bigquery_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """A fresh dataset on the session's BigQuery emulator (started on first use)."""
    import uuid

    from tests.bigquery.emulator import shared_emulator

    emulator = shared_emulator()
    request.getfixturevalue("monkeypatch").setenv("FLAKEGATE_BIGQUERY_ENDPOINT",
                                                   emulator.endpoint)
    url = f"bigquery://{emulator.project}/t_{uuid.uuid4().hex[:16]}"
    return lambda: open_store(url)


def postgres_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """A fresh schema on the session's PostgreSQL server (started on first use)."""
    from tests.postgres_server import shared_postgres

    url = shared_postgres().fresh_url()
    return lambda: open_store(url)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Opener]] = {
    "sqlite": sqlite_backend,
    "bigquery": bigquery_backend,
    "postgres": postgres_backend,
}


@pytest.fixture(params=sorted(BACKENDS))
def open_handle(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """An opener of handles on one fresh database of the parametrised backend."""
    make = BACKENDS[request.param](request, tmp_path)
    handles: list[Store] = []

    def opener() -> Store:
        handle = make()
        handles.append(handle)
        return handle

    yield opener
    for handle in handles:
        # A handle opened by another thread may refuse to be closed from this one.
        with contextlib.suppress(Exception):
            handle.close()


@pytest.fixture
def store(open_handle: Opener) -> Store:
    """A migrated, empty store."""
    handle = open_handle()
    handle.migrate()
    return handle
