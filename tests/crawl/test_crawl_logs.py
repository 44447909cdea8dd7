"""The crawler stores a build's logs (issue 13): ``build-log.txt`` as step ``build`` and every
``artifacts/<step>/build-log.txt`` as ``<step>``, through the store or the REST API."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from api.store import CrawlState
from client.cli import main
from tests.crawl.conftest import Tree, junit
from tests.crawl.test_kettle_defects import crawl
from tests.live_server import LiveServer

BUILD_LOG = b"\x1b[32m+ make e2e\x1b[0m\r\nI1201 ok\n\x1b[31mFAIL\x1b[0m\n"
LONG_STEP = "s" * 600  # over the 512 characters of a name: noted and skipped


def build_with_logs(tree: Tree, path: str = "logs/j/1") -> None:
    tree.build(path, result="failure", junit={"artifacts/junit.xml": junit([("t", "failed")])},
               build_log=BUILD_LOG)
    tree.put(f"{path}/artifacts/e2e-aws/ipi-install/build-log.txt", b"installing\nfailed\n",
             gzip_encoded=True)
    tree.put(f"{path}/artifacts/unit/build-log.txt", gzip.compress(b"unit\n"))  # gzip, unsaid
    tree.put(f"{path}/artifacts/{LONG_STEP}/build-log.txt", b"x\n")
    tree.put(f"{path}/artifacts/unit/other.txt", b"not a build log\n")


def test_the_store_keeps_the_build_log_and_every_step_log(tree: Tree, db: str, store: Any,
                                                          capsys: Any) -> None:
    build_with_logs(tree)
    assert crawl(tree, db, "logs/j") == 0
    assert "deprecated" not in capsys.readouterr().err
    assert not (Path(db.removeprefix("sqlite://")).parent / "build-logs").exists()
    infos = store.logs.list_logs("j", "1")
    assert [info.step for info in infos] == ["build", "e2e-aws/ipi-install", "unit"]
    build = store.logs.get_log("j", "1", "build")
    assert build.text == "+ make e2e\nI1201 ok\nFAIL\n"
    assert build.info.meta.source == f"gs://{tree.name}/logs/j/1/build-log.txt"
    assert store.logs.get_log("j", "1", "e2e-aws/ipi-install").text == "installing\nfailed\n"
    assert store.logs.get_log("j", "1", "unit").text == "unit\n"
    record = store.get_crawl_records(f"gs://{tree.name}",
                                     [f"gs://{tree.name}/logs/j/1"])[f"gs://{tree.name}/logs/j/1"]
    assert record.state is CrawlState.DONE
    assert record.reason is not None and record.reason.startswith("logs: step log ")
    assert "must be 1 to 512 characters" in record.reason
    assert store.get_run("j", "1").spec.status.value == "failure"


def test_the_deprecated_log_folder_still_works_and_says_so(tree: Tree, db: str, store: Any,
                                                           tmp_path: Path, capsys: Any) -> None:
    tree.build("logs/j/1", build_log=b"short log\n")
    assert crawl(tree, db, "logs/j", extra=("--build-log-dir", str(tmp_path / "kept"))) == 0
    assert "build_log_dir" in capsys.readouterr().err
    meta = store.get_run("j", "1").spec.metadata
    assert gzip.decompress(Path(meta["build_log.path"]).read_bytes()) == b"short log\n"
    assert store.logs.get_log("j", "1", "build").text == "short log\n"


@pytest.mark.slow
def test_rest_mode_puts_the_logs_through_the_api(tree: Tree, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from api.store import open_store

    url = f"sqlite:///{tmp_path / 'server.db'}"
    open_store(url).migrate()
    monkeypatch.delenv("FLAKEGATE_DATABASE", raising=False)
    build_with_logs(tree)
    live = LiveServer(url, "fg_admin-crawl-logs-long-enough-for-the-32-char-rule",
                      workers=1).start()
    try:
        assert main(["crawl", "gcs", "--bucket", tree.name, "--prefix", "logs/j", "--url",
                     live.url, "--token", live.admin_token]) == 0
    finally:
        live.stop()
    store = open_store(url)
    assert [i.step for i in store.logs.list_logs("j", "1")] == [
        "build", "e2e-aws/ipi-install", "unit"]
    assert store.logs.get_log("j", "1", "build").text == "+ make e2e\nI1201 ok\nFAIL\n"
