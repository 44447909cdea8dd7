"""`flakegate db copy`: a whole demo history moves between stores, verified, resumable after
a kill, refused into a foreign target, and the copy serves the same verdicts and ETags."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api import create_app
from api.demo import load_demo
from api.domain import RunStatus
from api.services.store_copy import CopyRefused, copy_store, redact
from api.store import AuditEntry, CrawlRecord, CrawlState, Store, open_store
from tests.conftest import ADMIN_TOKEN
from tests.transfer_history import T0, build_history, read_all, snapshot

FLAKEGATE = [sys.executable, "-m", "client.cli"]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo history plus the kinds of data the demo does not make (tokens, audit,
    crawl records, breakages, a deleted run), built once per module."""
    path = tmp_path_factory.mktemp("copy") / "source.db"
    store = open_store(f"sqlite://{path}")
    store.migrate()
    load_demo(store, now=T0)
    build_history(store)
    store.delete_run("unit", "u1", AuditEntry(job="unit", action="delete_run", actor="admin",
                                              reason="bad", tests=(), version=None, at=T0))
    store.put_crawl_records([CrawlRecord("s", "b", CrawlState.UNFINISHED, 2, "later")])
    store.close()
    return path


@pytest.fixture
def source(demo_db: Path, tmp_path: Path) -> str:
    copied = tmp_path / "source.db"
    shutil.copy(demo_db, copied)
    return f"sqlite://{copied}"


def opened(url: str) -> Store:
    store = open_store(url)
    store.migrate()
    return store


def payloads_of(store: Store) -> list[str]:
    named = {row[0] for row in read_all(store, "payloads")}
    named |= {row[2] for row in read_all(store, "runs") if row[2] is not None}
    return sorted(named)


def served(url: str, payloads: list[str]) -> dict[str, tuple[int, str | None, object]]:
    app = create_app({"DATABASE": url, "ADMIN_TOKEN": ADMIN_TOKEN})
    client = app.test_client()
    out = {}
    for payload in payloads:
        response = client.get(f"/payloads/{payload}/verdict",
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        out[payload] = (response.status_code, response.headers.get("ETag"), response.get_json())
    return out


def test_the_copy_verifies_and_serves_the_same_verdicts(source: str, tmp_path: Path) -> None:
    target = f"sqlite://{tmp_path / 'target.db'}"
    src, dst = opened(source), opened(target)
    report = copy_store(src, dst, source)
    assert report.mismatched == [] and not report.resumed
    assert report.source["results"].rows > 50_000
    assert all(report.source[t].rows for t in ("audit", "tokens", "crawl_records", "breakages",
                                               "logs", "measurements", "matches", "patterns"))
    assert snapshot(src) == snapshot(dst)
    payloads = payloads_of(src)
    src.close()
    dst.close()
    assert len(payloads) >= 2
    before, after = served(source, payloads), served(target, payloads)
    assert {p: v[0] for p, v in before.items() if v[0] != 200} == {}, before.get("p1")
    assert after == before  # JSON and ETag of every payload's verdict


def test_an_identical_reput_into_the_copy_is_unchanged(source: str, tmp_path: Path) -> None:
    target = f"sqlite://{tmp_path / 'target.db'}"
    src, dst = opened(source), opened(target)
    copy_store(src, dst, source, verify=False)
    run = src.list_runs("e2e", limit=1).items[0]
    tests = src.get_run_tests("e2e", run.spec.run_id)
    assert dst.put_run(run.spec, tests)[1].value == "unchanged"
    assert dst.get_run("e2e", run.spec.run_id) == run


def test_a_foreign_or_used_target_is_refused(source: str, tmp_path: Path) -> None:
    used = opened(f"sqlite://{tmp_path / 'used.db'}")
    used.put_run(__import__("api.domain", fromlist=["RunSpec"]).RunSpec(
        job="j", run_id="1", status=RunStatus.SUCCESS))
    src = opened(source)
    with pytest.raises(CopyRefused, match="not empty"):
        copy_store(src, used, source)
    fresh = opened(f"sqlite://{tmp_path / 'fresh.db'}")
    copy_store(src, fresh, source, verify=False)
    with pytest.raises(CopyRefused, match="holds a copy from"):
        copy_store(fresh, fresh, "sqlite:///elsewhere.db")
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    # libpq also takes passwords in the query; postgres:// is the same source as postgresql://
    assert redact("postgres://u@h/db?sslmode=require&password=secret&sslpassword=s2") == \
        "postgresql://u@h/db?sslmode=require&password=***&sslpassword=***"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FLAKEGATE, *args], capture_output=True, text=True, timeout=600)


def progress_rows(path: Path, table: str) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            row = conn.execute("SELECT rows FROM transfer_progress WHERE tbl = ?",
                               (table,)).fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0
    return int(row[0]) if row else 0


def test_a_killed_copy_resumes_and_ends_identical(source: str, tmp_path: Path) -> None:
    target_path = tmp_path / "target.db"
    proc = subprocess.Popen([*FLAKEGATE, "db", "copy", "--from", source, "--to",
                             str(target_path), "--batch", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while progress_rows(target_path, "results") < 2000 and proc.poll() is None:
        assert time.monotonic() < deadline, "the copy made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stopped_at = progress_rows(target_path, "results")
    assert 0 < stopped_at < 50_000

    done = cli("db", "copy", "--from", source, "--to", str(target_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("resumed") and "MISMATCH" not in done.stdout
    src, dst = opened(source), opened(f"sqlite://{target_path}")
    assert snapshot(src) == snapshot(dst)


def test_a_difference_fails_verification(source: str, tmp_path: Path) -> None:
    target_path = tmp_path / "target.db"
    assert cli("db", "copy", "--from", source, "--to", str(target_path)).returncode == 0
    dst = opened(f"sqlite://{target_path}")
    dst.put_run(dst.list_runs("e2e", limit=1).items[0].spec, [])
    dst.close()
    again = cli("db", "copy", "--from", source, "--to", str(target_path))
    assert again.returncode == 1
    assert "MISMATCH" in again.stdout and "results" in again.stderr
    refused = cli("db", "copy", "--from", str(target_path), "--to", source.removeprefix(
        "sqlite://"))
    assert refused.returncode == 2 and "not empty" in refused.stderr


def test_sqlite_to_postgresql_and_back_serves_the_same_verdicts(source: str,
                                                                 tmp_path: Path) -> None:
    from tests.postgres_server import shared_postgres

    middle = shared_postgres().fresh_url()
    back = f"sqlite://{tmp_path / 'back.db'}"
    src, pg = opened(source), opened(middle)
    there = copy_store(src, pg, source)
    assert there.mismatched == [] and there.source["results"].rows > 50_000
    home = opened(back)
    again = copy_store(pg, home, middle)
    assert again.mismatched == [] and again.source == there.source
    payloads = payloads_of(src)
    for store in (src, pg, home):
        store.close()
    before = served(source, payloads)
    assert served(middle, payloads) == before
    assert served(back, payloads) == before
