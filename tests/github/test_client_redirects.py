"""Downloads follow storage redirects by hand: a bounded number of hops, https only (http to
this machine only), and never a credential, not even one ~/.netrc holds for the next host."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from api.github.auth import TokenAuth
from api.github.client import MAX_STORAGE_HOPS, GitHubClient
from api.github.errors import GitHubError

REPO = "octo/repo"
LOGS = f"/api/repos/{REPO}/actions/jobs/1/logs"


@dataclass
class Hops:
    """A server answering each routed path with a 302 to ``routes[path]`` (``{port}`` filled
    in; None: no Location at all) and any other with 200 and a body; it records (path, host,
    Authorization) of every request."""

    routes: dict[str, str | None]
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def hops() -> Iterator[Hops]:
    state = Hops({})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append((self.path, self.headers.get("Host", ""),
                               self.headers.get("Authorization")))
            routed = self.path in state.routes
            target = state.routes.get(self.path)
            self.send_response(302 if routed else 200)
            if target is not None:
                self.send_header("Location", target.format(port=state.port))
            self.send_header("Content-Length", "0" if routed else "3")
            self.end_headers()
            if not routed:
                self.wfile.write(b"log")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: ``seen`` is the log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def client(hops: Hops) -> GitHubClient:
    return GitHubClient(f"http://127.0.0.1:{hops.port}/api", TokenAuth("the-token"),
                        sleep=lambda _: None)


def test_a_second_hop_to_another_host_gets_no_credentials(
        hops: Hops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine localhost login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    hops.routes = {LOGS: "http://127.0.0.1:{port}/first",  # GitHub's redirect to storage
                   "/first": "http://localhost:{port}/blob"}  # storage's own, to another host
    assert client(hops).download_job_log(REPO, 1, max_bytes=100) == b"log"
    assert [(path, auth) for path, _, auth in hops.seen] == [
        (LOGS, "Bearer the-token"), ("/first", None), ("/blob", None)]
    assert hops.seen[2][1].startswith("localhost:")


def test_an_http_location_off_this_machine_is_refused(hops: Hops) -> None:
    hops.routes = {LOGS: "http://storage.example/blob?sig=1"}
    with pytest.raises(GitHubError, match=re.escape("not https: 'http://storage.example/blob")):
        client(hops).download_job_log(REPO, 1, max_bytes=100)
    assert [path for path, _, _ in hops.seen] == [LOGS]


def test_redirects_are_bounded(hops: Hops) -> None:
    hops.routes = {LOGS: "/loop", "/loop": "http://localhost:{port}/loop"}
    with pytest.raises(GitHubError, match=f"more than {MAX_STORAGE_HOPS} redirects"):
        client(hops).download_job_log(REPO, 1, max_bytes=100)
    assert len(hops.seen) == 1 + MAX_STORAGE_HOPS


def test_a_redirect_without_a_location_is_an_error(hops: Hops) -> None:
    hops.routes = {LOGS: "http://127.0.0.1:{port}/empty", "/empty": None}
    with pytest.raises(GitHubError, match="without a Location"):
        client(hops).download_job_log(REPO, 1, max_bytes=100)
