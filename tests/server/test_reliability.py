"""Reliability against the real server under gunicorn: concurrency, crashes, hostile input.

Bounded in count and time, loopback only; every server is stopped by the fixture.
"""

from __future__ import annotations

import contextlib
import gzip
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from api.store import open_store
from tests.conftest import junit_xml
from tests.live_server import LiveServer, sqlite_path

pytestmark = pytest.mark.slow

UPLOADERS, RUNS_EACH, TESTS_PER_FILE = 16, 25, 500


def _file(tests: int, failing_every: int = 50) -> bytes:
    return junit_xml([(f"test_{index:05d}", "failed" if index % failing_every == 0 else "passed")
                      for index in range(tests)], suite="reliability")


def test_concurrent_uploaders_lose_and_duplicate_nothing(live_server: LiveServer) -> None:
    xml = _file(TESTS_PER_FILE)
    statuses: list[int] = []
    lock = threading.Lock()

    def uploader(worker: int) -> None:
        session = requests.Session()
        session.headers.update(live_server.headers())
        for run in range(RUNS_EACH):
            path = f"{live_server.url}/jobs/load%2Fjob/runs/w{worker}-r{run}"
            put = session.put(path, json={"status": "success", "payload": f"p{run % 3}"},
                              timeout=60)
            post = session.post(f"{path}/junit?filename=junit_{run}.xml", data=xml,
                                headers={"Content-Type": "application/xml"}, timeout=60)
            with lock:
                statuses.extend([put.status_code, post.status_code])

    with ThreadPoolExecutor(UPLOADERS) as pool:
        list(pool.map(uploader, range(UPLOADERS)))

    assert not [s for s in statuses if s >= 500], "no 5xx under concurrency"
    assert sorted(set(statuses)) == [201]
    store = open_store(live_server.database_url)
    try:
        seen: list[str] = []
        cursor = None
        while True:
            page = store.list_runs("load/job", limit=1000, cursor=cursor)
            seen += [run.spec.run_id for run in page.items]
            assert all(run.counts.total == TESTS_PER_FILE for run in page.items)
            assert all(len(run.files) == 1 for run in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        store.close()
    expected = {f"w{w}-r{r}" for w in range(UPLOADERS) for r in range(RUNS_EACH)}
    assert len(seen) == len(expected) and set(seen) == expected, "every run exactly once"


def _integrity(database_url: str) -> str:
    result = subprocess.run(["sqlite3", str(sqlite_path(database_url)),
                             "PRAGMA integrity_check;"],
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


@pytest.mark.parametrize("kill_after_s", [0.15, 0.4, 0.8])
def test_sigkill_during_a_large_upload_leaves_the_run_whole_or_absent(
        tmp_path: Path, kill_after_s: float) -> None:
    tests = 60_000
    xml = _file(tests, failing_every=7)
    server = LiveServer(
        f"sqlite:///{tmp_path / 'crash.db'}", "fg_admin-long-enough-for-the-32-char-rule",
        workers=1).start()
    try:
        run = f"{server.url}/jobs/crash/runs/1"
        assert requests.put(run, json={"status": "success"}, headers=server.headers(),
                            timeout=30).status_code == 201

        def upload() -> None:
            # The server is killed under the request: a connection error is the point.
            with contextlib.suppress(requests.RequestException):
                requests.post(f"{run}/junit", data=xml, timeout=30,
                              headers={**server.headers(), "Content-Type": "application/xml"})

        sender = threading.Thread(target=upload)
        sender.start()
        time.sleep(kill_after_s)
        server.kill()
        sender.join(timeout=30)
        server.start()  # on a new port
        body = requests.get(f"{server.url}/jobs/crash/runs/1", headers=server.headers(),
                            timeout=30).json()
        assert body["counts"]["total"] in (0, tests), f"half a run: {body['counts']}"
        assert len(body["files"]) == (1 if body["counts"]["total"] else 0)
    finally:
        server.stop()
    assert _integrity(server.database_url) == "ok"


def _worker_rss_kib(server: LiveServer) -> int:
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    total = 0
    for pid in children.read_text().split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    return ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(entities) + "\n]>\n"
            '<testsuite name="&lol9;"><testcase name="x"/></testsuite>\n').encode()


BILLION_LAUGHS = _billion_laughs()
XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       b'<testsuite name="s"><testcase name="&xxe;"/></testsuite>\n')


def test_billion_laughs_and_xxe_are_refused_without_memory_growth(
        live_server: LiveServer) -> None:
    run = f"{live_server.url}/jobs/hostile/runs/1"
    requests.put(run, json={"status": "success"}, headers=live_server.headers(), timeout=30)
    before = _worker_rss_kib(live_server)
    for attempt in range(10):
        for name, body in (("laughs.xml", BILLION_LAUGHS), ("xxe.xml", XXE)):
            # The timeout bounds a server that would expand the entities: it is a guard, the
            # figure itself is measured in bench/ingest.py.
            response = requests.post(f"{run}/junit?filename={name}", data=body, timeout=10,
                                     headers={**live_server.headers(),
                                              "Content-Type": "application/xml"})
            assert response.status_code == 400, (attempt, name, response.text)
            error = response.json()["error"]
            assert name in error["message"]
            assert "root:" not in response.text, "the external entity was never read"
    growth_mib = (_worker_rss_kib(live_server) - before) / 1024
    assert growth_mib < 32, f"workers grew by {growth_mib:.1f} MiB"
    assert requests.get(run, headers=live_server.headers(), timeout=30).json()["counts"][
        "total"] == 0


def test_limits_and_invalid_fields_on_the_live_server(tmp_path: Path) -> None:
    server = LiveServer(
        f"sqlite:///{tmp_path / 'limits.db'}", "fg_admin-long-enough-for-the-32-char-rule",
        extra_env={"FLAKEGATE_MAX_BODY_BYTES": str(1 << 20),
                   "FLAKEGATE_MAX_DECOMPRESSED_BYTES": str(1 << 20)}).start()
    try:
        run = f"{server.url}/jobs/limits/runs/1"
        headers = server.headers()
        requests.put(run, json={"status": "success"}, headers=headers, timeout=30)
        too_big = requests.post(f"{run}/junit", data=b"<" * (2 << 20), timeout=30,
                                headers={**headers, "Content-Type": "application/xml"})
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "too_large"
        bomb = gzip.compress(b" " * (64 << 20))
        bombed = requests.post(f"{run}/junit", data=bomb, timeout=30,
                               headers={**headers, "Content-Type": "application/xml",
                                        "Content-Encoding": "gzip"})
        assert bombed.status_code == 413
        invalid = requests.put(run, json={"status": "done", "finished_at": "later",
                                          "tests": [{"status": "passed"}]},
                               headers=headers, timeout=30)
        assert invalid.status_code == 422
        details = invalid.json()["error"]["details"]
        assert set(details) == {"status", "finished_at", "tests"}
        assert "name" in details["tests"]["0"]
    finally:
        server.stop()
