"""Crawling through a running server's REST API (no direct store): a write token ingests,
a read-only token can dry-run, and the server's runs are the crawl's state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.auth import hash_token, new_token
from api.domain import Scope
from api.store import open_store
from client.api import Client
from client.cli import main
from tests.crawl.conftest import Tree, junit
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    store = open_store(url)
    store.migrate()
    tokens = {}
    for scope in (Scope.READ, Scope.WRITE):
        tokens[scope.value] = new_token()
        store.add_token(hash_token(tokens[scope.value]), scope, f"crawl-{scope.value}")
    store.close()
    live = LiveServer(
        url, "fg_admin-crawl-test-long-enough-for-the-32-char-rule",
        workers=2).start()
    try:
        yield live, tokens
    finally:
        live.stop()


def test_rest_mode_ingests_once_and_dry_runs_with_a_read_token(
        tree: Tree, server: tuple[LiveServer, dict[str, str]], capsys: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    live, tokens = server
    monkeypatch.delenv("FLAKEGATE_DATABASE", raising=False)
    tree.build("logs/j/1", junit={"artifacts/junit.xml": junit([("t", "passed")]),
                                  "artifacts/x/junit_bad.xml": b"<testsuite"})
    tree.build("logs/j/2", result="failure",
               junit={"artifacts/junit.xml": junit([("t", "failed")])})
    tree.build("logs/j/3", started=time.time() - 60, result=None)  # running
    base = ["crawl", "gcs", "--bucket", tree.name, "--prefix", "logs/j", "--url", live.url]

    assert main([*base, "--token", tokens["read"], "--dry-run"]) == 0
    assert "dry run, nothing written: found 3, new 3" in capsys.readouterr().out
    client = Client(live.url, tokens["read"])
    assert list(client.list_jobs()) == []

    assert main([*base, "--token", tokens["write"]]) == 0
    out = capsys.readouterr().out
    assert "found 3, new 3, ingested 2, unfinished 1" in out
    assert "broken junit files 1" in out
    first = client.get_run("j", "1")
    assert first.counts.passed == 1 and "junit_bad.xml" in first.metadata["crawl.junit_errors"]
    assert client.get_run("j", "2").status == "failure"
    assert client.get_run("j", "3").status == "pending"

    # Second crawl: finished runs on the server are done; the pending one is re-polled.
    assert main([*base, "--token", tokens["write"]]) == 0
    assert "found 3, new 0, ingested 0, unfinished 1" in capsys.readouterr().out
    assert client.get_run("j", "1").updated_at == first.updated_at

    # A read token cannot write: the builds fail (reported), nothing is changed.
    tree.build("logs/j/4")
    assert main([*base, "--token", tokens["read"]]) == 1
    out = capsys.readouterr().out
    assert "failed 2" in out and "403" in out  # build 4, and the re-poll of build 3


def test_rest_mode_sends_disruption_files_with_the_run(
        tree: Tree, server: tuple[LiveServer, dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    live, tokens = server
    monkeypatch.delenv("FLAKEGATE_DATABASE", raising=False)
    cluster = (b'{"Release": "4.15", "FromRelease": "", "Platform": "gcp",'
               b' "Architecture": "amd64", "Network": "ovn", "Topology": "ha"}')
    tree.build("logs/j/5", junit={
        "artifacts/junit.xml": junit([("t", "passed")]),
        "artifacts/e2e/a/b/backend-disruption_e2e.json":
            b'{"BackendDisruptions": {"x": {"Name": "kube-api", "DisruptedDuration": "1.5s"}}}',
        "artifacts/e2e/a/b/cluster-data_e2e.json": cluster})
    assert main(["crawl", "gcs", "--bucket", tree.name, "--prefix", "logs/j", "--url", live.url,
                 "--token", tokens["write"]]) == 0
    store = open_store(live.database_url)
    try:
        measured = store.disruption.run_measurements("j", ["5"])["5"]
    finally:
        store.close()
    assert {k.name: s for k, s in measured.seconds.items()} == {"kube-api": 2}
    assert measured.variant.platform == "gcp"
