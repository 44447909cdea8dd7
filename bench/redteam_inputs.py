"""bench/redteam.py's rows for issue 11 items 3, 4, 6 and 8: bounded work per upload request,
no 5xx on hostile input, the name rule and no leaks. Each row takes the live server and its
admin token and returns (passed, detail)."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import quote

import requests

from tests.live_server import LiveServer

Row = Callable[[LiveServer], tuple[bool, str]]
_BOMB_PART = gzip.compress(b"<testsuites>" + b" " * (60 * 1000 * 1000) + b"</testsuites>")


def _ensure_run(server: LiveServer, run: str) -> str:
    requests.put(f"{server.url}/jobs/rt/runs/{run}", json={"status": "success"},
                 headers=server.headers(), timeout=10)
    return f"{server.url}/jobs/rt/runs/{run}/junit"


def multipart_bomb(server: LiveServer) -> tuple[bool, str]:
    """Two clients, 150 parts each of a 60 KB gzip inflating to 60 MB; /healthz polled."""
    answers: list[tuple[int, float]] = []

    def bomb(run: str) -> None:
        url = _ensure_run(server, run)
        files = [("file", (f"b{i}.xml.gz", _BOMB_PART, "application/gzip")) for i in range(150)]
        started = time.monotonic()
        status = requests.post(url, files=files, headers=server.headers(), timeout=120)
        answers.append((status.status_code, time.monotonic() - started))

    clients = [threading.Thread(target=bomb, args=(run,)) for run in ("b1", "b2")]
    for client in clients:
        client.start()
    health: list[float] = []
    while any(client.is_alive() for client in clients):
        started = time.monotonic()
        ok = requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        health.append(time.monotonic() - started if ok else float("inf"))
        time.sleep(0.2)
    for client in clients:
        client.join()
    slowest = max(seconds for _, seconds in answers)
    passed = all(status == 413 for status, _ in answers) and slowest < 5 and max(health) < 5
    return passed, (f"{[status for status, _ in answers]} in at most {slowest:.2f} s; "
                    f"/healthz {len(health)} answered, max {max(health) * 1000:.0f} ms")


def chunked_over_limit(server: LiveServer) -> tuple[bool, str]:
    chunk = b" " * (1 << 20)

    def body() -> Iterator[bytes]:
        yield b"<testsuites>"
        for _ in range(70):
            yield chunk

    response = requests.post(_ensure_run(server, "c1"), data=body(), timeout=120,
                             headers={**server.headers(), "Content-Type": "application/xml"})
    return response.status_code == 413, f"70 MiB chunked -> {response.status_code}"


def too_many_parts(server: LiveServer) -> tuple[bool, str]:
    files = [("file", (f"f{i}.xml", b"<testsuite/>", "application/xml")) for i in range(1001)]
    response = requests.post(_ensure_run(server, "p1"), files=files, headers=server.headers(),
                             timeout=60)
    limit = response.json().get("error", {}).get("details", {}).get("limit")
    return (response.status_code, limit) == (413, "MAX_PARTS"), \
        f"1001 parts -> {response.status_code} naming {limit}"


def hostile_inputs(server: LiveServer) -> tuple[bool, str]:
    """Inputs that once answered 500: each must be a 4xx in the error shape."""
    url, headers = server.url, server.headers()
    deep = "[" * 10_000 + "]" * 10_000
    cases = [
        ("put", "/jobs/rt/runs/t1", {"json": {"started_at": "9999-12-31T23:59:59-14:00"}}),
        ("put", "/payloads/rt", {"json": {"deadline": "0001-01-01T00:00:00+14:00"}}),
        ("put", "/jobs/rt", {"data": '{"settings": {"k": ' + deep + "}}",
                             "headers": {"Content-Type": "application/json"}}),
        ("put", "/jobs/rt", {"data": '{"expected_runs": ' + "9" * 5000 + "}",
                             "headers": {"Content-Type": "application/json"}}),
        ("get", f"/jobs/rt/baseline?version={2**63}", {}),
        ("put", "/jobs/rt", {"json": {"expected_runs": 5.5}}),
        ("put", "/payloads/" + quote("\U0001f600" * 512), {"json": {}}),
        ("put", "/jobs/" + quote("a\u202eb"), {"json": {}}),
    ]
    statuses = []
    for method, path, options in cases:
        extra = options.pop("headers", {})
        response = requests.request(method, url + path, headers={**headers, **extra},
                                    timeout=30, **options)
        text = response.text
        statuses.append(response.status_code)
        if not (400 <= response.status_code < 500 and text.startswith('{"error"')) \
                or "sys." in text:
            return False, f"{method.upper()} {path[:40]} -> {response.status_code} {text[:80]}"
    return True, f"all 4xx: {statuses}"


def long_names(server: LiveServer) -> tuple[bool, str]:
    url = _ensure_run(server, "n1")
    xml = f'<testsuite name="s"><testcase classname="{"c" * 30_000}" name="t"/></testsuite>'
    response = requests.post(url, data=xml.encode(), timeout=30,
                             headers={**server.headers(), "Content-Type": "application/xml"})
    cut = response.json().get("names_cut") if response.ok else None
    bad_name = requests.post(url + "?filename=" + quote("x\n" * 1500), data=xml.encode(),
                             headers={**server.headers(), "Content-Type": "application/xml"},
                             timeout=30).status_code
    return (response.status_code, cut, bad_name) == (201, 1, 422), \
        f"30k classname -> {response.status_code}, names_cut={cut}; bad filename -> {bad_name}"


ROWS: list[tuple[str, Row]] = [
    ("multipart gzip bomb (2 clients)", multipart_bomb),
    ("chunked body over the limit", chunked_over_limit),
    ("1001 tiny parts", too_many_parts),
    ("hostile inputs (once 500s)", hostile_inputs),
    ("30k-character names", long_names),
]
