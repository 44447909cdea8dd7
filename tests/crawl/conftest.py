"""Fixtures for the crawler: a real GCS emulator (one per session), fresh buckets, a tree
builder, a store, and a loopback HTTP server for Prow job-history pages."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import shared_fixtures
from tests.processes import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / ".venv" / "bin" / "gcp-storage-emulator"
READY_TIMEOUT = 20.0


class Emulator:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = str(EMULATOR) if EMULATOR.exists() else "gcp-storage-emulator"
        self.process = subprocess.Popen(
            [exe, "start", "--host", "127.0.0.1", "--port", str(self.port), "--in-memory"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            # Any HTTP answer means it is serving; the bucket list itself may be empty.
            wait_until_ready(self.process, f"{self.url}/storage/v1/b", timeout=READY_TIMEOUT,
                             what="gcp-storage-emulator", ready=lambda response: True)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = emu.url  # read by google-cloud-storage
    try:
        yield emu
    finally:
        emu.stop()
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous


class Tree:
    """Writes objects into one fresh bucket of the emulator."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        self.bucket = client.create_bucket(name)

    def put(self, path: str, data: bytes | str | dict, *, gzip_encoded: bool = False) -> None:
        if isinstance(data, dict):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode()
        blob = self.bucket.blob(path)
        if gzip_encoded:
            blob.content_encoding = "gzip"
            data = gzip.compress(data)
        blob.upload_from_string(data)

    def build(self, path: str, *, started: float | None = 1_700_000_000,
              result: str | None = "SUCCESS", finished_at: float | None = None,
              junit: dict[str, bytes] | None = None, prowjob: dict | None = None,
              gzip_encoded: bool = False, build_log: bytes | None = None) -> None:
        if started is not None:
            self.put(f"{path}/started.json", {"timestamp": int(started)},
                     gzip_encoded=gzip_encoded)
        if result is not None:
            self.put(f"{path}/finished.json",
                     {"timestamp": int(finished_at or (started or 1_700_000_000) + 600),
                      "passed": result.upper() == "SUCCESS", "result": result},
                     gzip_encoded=gzip_encoded)
        if prowjob is not None:
            self.put(f"{path}/prowjob.json", prowjob, gzip_encoded=gzip_encoded)
        for name, data in (junit or {}).items():
            self.put(f"{path}/{name}", data, gzip_encoded=gzip_encoded)
        if build_log is not None:
            self.put(f"{path}/build-log.txt", build_log, gzip_encoded=gzip_encoded)


@pytest.fixture
def gcs(emulator: Emulator) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="flakegate-test", credentials=AnonymousCredentials())


@pytest.fixture
def tree(gcs: Any) -> Tree:
    return Tree(gcs, f"b-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def make_tree(gcs: Any) -> Callable[[str], Tree]:
    return lambda name: Tree(gcs, name)


@pytest.fixture
def fixtures_dir() -> Path:
    return shared_fixtures("prow")


@pytest.fixture
def db(tmp_path: Path) -> str:
    from api.store import open_store

    url = f"sqlite:///{tmp_path / 'crawl.db'}"
    store = open_store(url)
    store.migrate()
    store.close()
    return url


@pytest.fixture
def store(db: str) -> Iterator[Any]:
    from api.store import open_store

    opened = open_store(db)
    yield opened
    opened.close()


class Pages:
    """A loopback HTTP server: ``pages[path_with_query] = html``; counts requests."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.render: Callable[[str], str | None] | None = None  # consulted after pages
        self.hits: list[str] = []
        self.fail_next = 0  # answer 503 to this many requests first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits.append(self.path)
                if outer.fail_next > 0:
                    outer.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                body = outer.pages.get(self.path)
                if body is None and outer.render is not None:
                    body = outer.render(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def pages() -> Iterator[Pages]:
    server = Pages()
    yield server
    server.close()


def junit(cases: list[tuple[str, str]], suite: str = "e2e") -> bytes:
    """A small JUnit file of (name, outcome): passed, failed, skipped, error."""
    inner = {"passed": "", "failed": '<failure message="boom">trace</failure>',
             "skipped": "<skipped/>", "error": '<error message="crash"/>'}
    body = "".join(f'<testcase classname="{suite}" name="{n}" time="0.1">{inner[o]}</testcase>'
                   for n, o in cases)
    return f'<testsuite name="{suite}" tests="{len(cases)}">{body}</testsuite>'.encode()
