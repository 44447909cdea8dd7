"""``flakegate demo`` (what ``make run`` calls) is idempotent: the second run reuses the data
and prints the same admin token, kept in a 0600 file beside the database."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.auth import hash_token
from api.store import open_store
from client.cli import main


def token_line(printed: str) -> str:
    (line,) = [line for line in printed.splitlines() if line.startswith("TOKEN=fg_")]
    return line.removeprefix("TOKEN=")


def test_demo_twice_reuses_its_data_and_token(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite://{tmp_path / 'var' / 'flakegate.db'}"
    assert main(["demo", "--db", url]) == 0
    first = capsys.readouterr().out
    token = token_line(first)
    kept = tmp_path / "var" / "demo-token"
    assert kept.read_text().strip() == token
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert "demo loaded" in first

    store = open_store(url)
    try:
        job = store.list_jobs(limit=1).items[0].name
        updated = store.get_job(job)
        runs_before = len(store.list_runs(job, limit=1000).items)
    finally:
        store.close()

    assert main(["demo", "--db", url]) == 0
    second = capsys.readouterr().out
    assert token_line(second) == token and "demo already loaded" in second
    assert second.replace("already loaded", "loaded") == first
    store = open_store(url)
    try:
        assert store.get_job(job) == updated  # nothing was written again
        assert len(store.list_runs(job, limit=1000).items) == runs_before
        assert len(store.list_tokens(limit=100).items) == 1

        # A revoked demo token is replaced (and the file with it).
        found = store.find_token(hash_token(token))
        assert found is not None
        store.revoke_token(found.id, actor="test", at=datetime.now(UTC))
    finally:
        store.close()
    assert main(["demo", "--db", url]) == 0
    fresh = token_line(capsys.readouterr().out)
    assert fresh != token and kept.read_text().strip() == fresh
