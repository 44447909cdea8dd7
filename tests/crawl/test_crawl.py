"""Crawling generated Prow trees: layouts, encodings, mapping, state, retries, dry runs."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from api.crawl.config import Settings, Source
from api.crawl.gcs import GcsReader
from api.crawl.retry import RetryPolicy
from api.crawl.runner import Crawler
from api.crawl.sinks import StoreSink
from api.store import CrawlState
from client.cli import main
from tests.crawl.conftest import Tree, junit
from tests.crawl.test_kettle_defects import crawl

PROWJOB = {
    "metadata": {"labels": {"prow.k8s.io/build-id": "200", "team": "4.19-lbl"},
                 "annotations": {"release.openshift.io/tag": "4.19.0-0.nightly-2026-11-22"}},
    "spec": {"type": "periodic", "job": "periodic-e2e-aws (ovn)",
             "refs": {"org": "openshift", "repo": "origin", "base_ref": "main",
                      "base_sha": "abc", "pulls": [{"number": 42, "sha": "def",
                                                    "author": "someone"}]}},
    "status": {"state": "success", "url": "https://prow.example/view/gs/b/logs/x/200",
               "startTime": "2026-11-22T01:00:00Z"},
}


def test_prowjob_mapping_gzip_encoded(tree: Tree, db: str, store: Any) -> None:
    tree.build("logs/periodic-e2e-aws/200", prowjob=PROWJOB, gzip_encoded=True,
               result="success", junit={"artifacts/junit.xml": junit([("a", "passed")])})
    assert crawl(tree, db, "logs/periodic-e2e-aws") == 0
    run = store.get_run("periodic-e2e-aws (ovn)", "200")
    assert run.spec.payload == "4.19.0-0.nightly-2026-11-22"
    assert run.spec.url == "https://prow.example/view/gs/b/logs/x/200"
    assert run.spec.status.value == "success"
    meta = run.spec.metadata
    assert (meta["repo.org"], meta["repo.name"], meta["pr.numbers"], meta["pr.shas"]) == (
        "openshift", "origin", "42", "def")
    assert meta["prow.type"] == "periodic"
    assert run.counts.passed == 1


def test_gzip_magic_without_content_encoding(tree: Tree, db: str, store: Any) -> None:
    # Compressed bytes stored without the header (as some uploaders do): recognised by magic.
    tree.put("logs/j/1/started.json", gzip.compress(b'{"timestamp": 1700000000}'))
    tree.put("logs/j/1/finished.json", gzip.compress(b'{"timestamp": 1700000600, '
                                                     b'"result": "FAILURE"}'))
    tree.put("logs/j/1/artifacts/junit_1.xml.gz", gzip.compress(junit([("z", "failed")])))
    assert crawl(tree, db, "logs/j") == 0
    run = store.get_run("j", "1")
    assert run.spec.status.value == "failure" and run.counts.failed == 1


def test_payload_from_configured_label_and_metadata(tree: Tree, db: str, store: Any) -> None:
    tree.build("logs/j/1", prowjob={"metadata": {"labels": {"team": "lbl-payload"}}})
    tree.put("logs/k/2/started.json", {"timestamp": 1700000000})
    tree.put("logs/k/2/finished.json", {"timestamp": 1700000100, "result": "SUCCESS",
                                        "metadata": {"job-version": "v1.35.0-alpha.1"}})
    assert crawl(tree, db, "logs/j", "logs/k", extra=(
        "--payload-label", "team", "--payload-metadata", "job-version",
        "--view-url", "https://prow.k8s.io/view/gs/{bucket}/{path}")) == 0
    assert store.get_run("j", "1").spec.payload == "lbl-payload"
    second = store.get_run("k", "2")
    assert second.spec.payload == "v1.35.0-alpha.1"
    assert second.spec.url == f"https://prow.k8s.io/view/gs/{tree.name}/logs/k/2"


def test_pr_layout_walk_and_aborted_without_finished(tree: Tree, db: str, store: Any,
                                                     capsys: Any) -> None:
    tree.build("pr-logs/pull/kubernetes_kubernetes/93264/pull-unit/7", result="FAILURE")
    tree.build("pr-logs/pull/kubernetes_kubernetes/93265/pull-unit/8", result=None,
               prowjob={"status": {"state": "aborted",
                                   "completionTime": "2026-11-22T02:00:00Z"}})
    tree.build("pr-logs/pull/kubernetes_kubernetes/93265/pull-other/9")
    assert crawl(tree, db, "pr-logs/pull/kubernetes_kubernetes",
                 extra=("--exclude", "pull-other")) == 0
    assert "found 2, new 2, ingested 2" in capsys.readouterr().out
    aborted = store.get_run("pull-unit", "8")
    assert aborted.spec.status.value == "aborted"
    assert aborted.spec.finished_at.isoformat().startswith("2026-11-22T02:00")
    assert store.get_job("pull-other") is None


def test_crawling_twice_ingests_nothing(tree: Tree, db: str, store: Any, capsys: Any) -> None:
    for build in range(1, 6):
        tree.build(f"logs/j/{build}", junit={"artifacts/junit.xml": junit([("t", "passed")])})
    assert crawl(tree, db, "logs/j") == 0
    assert "found 5, new 5, ingested 5" in capsys.readouterr().out
    before = {r.spec.run_id: r.updated_at for r in store.list_runs("j", limit=10).items}
    assert crawl(tree, db, "logs/j") == 0
    assert "found 5, new 0, ingested 0, unfinished 0, aged out 0, failed 0, skipped 5" in \
        capsys.readouterr().out
    after = {r.spec.run_id: r.updated_at for r in store.list_runs("j", limit=10).items}
    assert before == after


class Interrupting(GcsReader):
    """Raises KeyboardInterrupt when the nth build's started.json is read."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at
        self.seen = 0

    def read_raw(self, bucket: str, name: str, **kwargs: Any) -> bytes | None:
        if name.endswith("/started.json"):
            self.seen += 1
            if self.seen == self.at:
                raise KeyboardInterrupt
        return super().read_raw(bucket, name, **kwargs)


def test_interrupted_crawl_resumes(tree: Tree, db: str, store: Any) -> None:
    for build in range(1, 9):
        tree.build(f"logs/j/{build}", junit={"artifacts/junit.xml": junit([("t", "passed")])})
    source = Source(bucket=tree.name, prefixes=("logs/j",))
    sink = StoreSink(db)
    with pytest.raises(KeyboardInterrupt):
        Crawler(Interrupting(at=4), sink, Settings(workers=1)).crawl_bucket(source)
    sink.close()
    done = store.list_crawl_records(f"gs://{tree.name}", limit=100).items
    assert len(done) == 3 and all(r.state is CrawlState.DONE for r in done)
    sink = StoreSink(db)
    summary = Crawler(GcsReader(), sink, Settings(workers=2)).crawl_bucket(source)
    sink.close()
    assert (summary.found, summary.new, summary.ingested, summary.skipped) == (8, 5, 5, 3)
    assert len(store.list_runs("j", limit=100).items) == 8


class Failing(GcsReader):
    """Build 2 cannot be read (a permanent error); the others can."""

    def read_raw(self, bucket: str, name: str, **kwargs: Any) -> bytes | None:
        if "/j/2/" in name:
            raise PermissionError("403 Forbidden: no access to this build")
        return super().read_raw(bucket, name, **kwargs)


def test_failed_build_retried_up_to_a_limit(tree: Tree, db: str, store: Any) -> None:
    for build in (1, 2):
        tree.build(f"logs/j/{build}")
    source = Source(bucket=tree.name, prefixes=("logs/j",))
    outcomes = []
    for _ in range(5):
        sink = StoreSink(db)
        summary = Crawler(Failing(), sink, Settings(max_build_attempts=3),
                          out=open("/dev/null", "w")).crawl_bucket(source)  # noqa: SIM115
        sink.close()
        outcomes.append(summary.failed)
    assert outcomes == [1, 1, 1, 0, 0]  # three attempts, then left failed
    (record,) = store.get_crawl_records(f"gs://{tree.name}", [f"gs://{tree.name}/logs/j/2"]
                                        ).values()
    assert record.state is CrawlState.FAILED and record.attempts == 3
    assert "403 Forbidden" in record.reason
    assert store.get_run("j", "1") is not None


def test_transient_errors_are_retried_with_backoff(tree: Tree, db: str, store: Any) -> None:
    from google.api_core.exceptions import ServiceUnavailable

    tree.build("logs/j/1")
    waits: list[float] = []
    flaky = {"left": 3}

    class Flaky(GcsReader):
        def read_raw(self, bucket: str, name: str, **kwargs: Any) -> bytes | None:
            def once() -> bytes | None:
                if flaky["left"] > 0:
                    flaky["left"] -= 1
                    raise ServiceUnavailable("503 backend busy")
                return GcsReader.read_raw(plain, bucket, name, **kwargs)

            return self.retry.call(once)

    plain = GcsReader()
    reader = Flaky(retry=RetryPolicy(attempts=7, base=0.5, sleep=waits.append))
    sink = StoreSink(db)
    summary = Crawler(reader, sink).crawl_bucket(Source(bucket=tree.name, prefixes=("logs/j",)))
    sink.close()
    assert summary.ingested == 1 and len(waits) == 3
    assert all(w <= 0.5 * 2 ** i for i, w in enumerate(waits))  # exponential ceilings
    # Seven attempts at most, then the error surfaces.
    calls = {"n": 0}

    def always() -> None:
        calls["n"] += 1
        raise ServiceUnavailable("still busy")

    with pytest.raises(ServiceUnavailable):
        RetryPolicy(sleep=lambda s: None).call(always)
    assert calls["n"] == 7


def test_dry_run_writes_nothing(tree: Tree, db: str, capsys: Any) -> None:
    tree.build("logs/j/1", junit={"artifacts/junit.xml": junit([("t", "passed")])},
               build_log=b"log")
    path = Path(db.removeprefix("sqlite://"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert crawl(tree, db, "logs/j", extra=("--dry-run",)) == 0
    out = capsys.readouterr().out
    assert "would ingest j #1: success" in out and "dry run, nothing written" in out
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not (path.parent / "build-logs").exists()
    # Against a database that does not exist yet: still nothing is created.
    missing = path.parent / "nope" / "x.db"
    assert crawl(tree, f"sqlite:///{missing}", "logs/j", extra=("--dry-run",)) == 0


def test_build_log_kept_compressed_and_capped(tree: Tree, db: str, store: Any,
                                             tmp_path: Path) -> None:
    log = b"".join(b"line %06d\n" % i for i in range(50_000))  # 550 kB
    tree.build("logs/j/1", build_log=log)
    tree.build("logs/j/2", build_log=log, gzip_encoded=True)
    tree.build("logs/j/3", build_log=b"short log\n")
    from api.crawl.config import Settings as S

    sink = StoreSink(db)
    Crawler(GcsReader(), sink, S(build_log_dir=tmp_path / "logs", build_log_max_bytes=1000)
            ).crawl_bucket(Source(bucket=tree.name, prefixes=("logs/j",)))
    sink.close()
    for build in ("1", "2"):
        meta = store.get_run("j", build).spec.metadata
        kept = gzip.decompress(Path(meta["build_log.path"]).read_bytes())
        assert kept.startswith(b"line 000000") and kept.endswith(b"line 049999\n")
        assert len(kept) < 1100 and meta["build_log.truncated"] == "true"
        assert meta["build_log.bytes"] == str(len(log))
    meta = store.get_run("j", "3").spec.metadata
    assert gzip.decompress(Path(meta["build_log.path"]).read_bytes()) == b"short log\n"
    assert "build_log.truncated" not in meta


def test_config_many_sources(tree: Tree, make_tree: Any, db: str, store: Any, tmp_path: Path,
                             capsys: Any) -> None:
    other = make_tree(tree.name + "-2")
    tree.build("logs/a/1", prowjob={"metadata": {"labels": {"rel": "p1"}}})
    other.build("logs/b/2")
    other.build("logs/b-skip/3")
    config = tmp_path / "crawl.yaml"
    config.write_text(json.dumps({
        "settings": {"workers": 2, "unfinished_max_age": "2d"},
        "sources": [{"bucket": tree.name, "prefixes": ["logs/a"],
                     "payload": {"labels": ["rel"]}},
                    {"bucket": other.name, "prefix": "logs/b", "exclude": "b-skip"},
                    {"bucket": other.name, "prefix": "logs/b-skip", "exclude": ["b-skip"]}]}))
    assert main(["crawl", "--config", str(config), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "crawl: found 2, new 2, ingested 2" in out
    assert store.get_run("a", "1").spec.payload == "p1"
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [{bucket: x}]\n")
    assert main(["crawl", "--config", str(bad), "--db", db]) == 2
    assert "needs prefixes" in capsys.readouterr().err


def test_a_source_that_cannot_be_listed_does_not_stop_the_others(
        tree: Tree, db: str, store: Any, tmp_path: Path, capsys: Any) -> None:
    tree.build("logs/a/1")
    config = tmp_path / "crawl.yaml"
    config.write_text(json.dumps({"sources": [
        {"bucket": tree.name + "-does-not-exist", "prefixes": ["logs/a"]},
        {"bucket": tree.name, "prefixes": ["logs/a"]}]}))
    assert main(["crawl", "--config", str(config), "--db", db]) == 1
    captured = capsys.readouterr()
    assert "could not be crawled" in captured.err
    assert "crawl: found 1, new 1, ingested 1" in captured.out
    assert store.get_run("a", "1") is not None
    assert main(["crawl", "gcs", "--bucket", tree.name, "--prefix", "nope/x", "--db", db]) == 2
    assert "unsupported prefix" in capsys.readouterr().err


def test_loop_rereads_the_config_and_crawls_again(tree: Tree, db: str, tmp_path: Path,
                                                  capsys: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import api.crawl.commands as commands

    tree.build("logs/a/1")
    config = tmp_path / "crawl.yaml"
    config.write_text(json.dumps({"sources": [{"bucket": tree.name, "prefixes": ["logs/a"]}]}))
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:
            tree.build("logs/a/2")  # a new build between rounds
        else:
            raise KeyboardInterrupt  # how a user stops the loop

    monkeypatch.setattr(commands.time, "sleep", sleep)
    assert main(["crawl", "--config", str(config), "--db", db, "--loop",
                 "--interval", "90s"]) == 130  # Ctrl-C: 128 + SIGINT
    out = capsys.readouterr().out
    assert "crawl: found 1, new 1, ingested 1" in out
    assert "crawl: found 2, new 1, ingested 1" in out
    assert pauses == [90.0, 90.0]


def test_disruption_files_at_any_depth_go_in_with_the_run(tree: Tree, db: str,
                                                          store: Any) -> None:
    data = Path(__file__).parent.parent / "data" / "disruption"
    deep = "artifacts/e2e-aws-ovn-upgrade/openshift-e2e-test/artifacts"
    files = {f"{deep}/junit/junit_e2e.xml": junit([("a", "passed")]),
             f"{deep}/e2e-timelines.json": b"{}"}  # not a measurement file: not read
    for item in data.iterdir():
        files[f"{deep}/{item.name}"] = item.read_bytes()
    tree.build("logs/periodic-4.15-upgrade-from-stable-4.14-e2e-aws-ovn-upgrade/7", junit=files)
    assert crawl(tree, db, "logs/periodic-4.15-upgrade-from-stable-4.14-e2e-aws-ovn-upgrade") == 0
    job = "periodic-4.15-upgrade-from-stable-4.14-e2e-aws-ovn-upgrade"
    measured = store.disruption.run_measurements(job, ["7"])["7"]
    assert measured.variant.master_nodes_updated == "Y" and measured.variant.platform == "aws"
    assert {k.name: s for k, s in measured.seconds.items()}["kube-api-new-connections"] == 4
    assert store.get_run(job, "7").counts.passed == 1
    assert crawl(tree, db, "logs/" + job) == 0  # again: nothing new, nothing doubled
    again = store.disruption.run_measurements(job, ["7"])["7"]
    assert again.seconds == measured.seconds


def test_a_bad_disruption_file_is_named_and_the_rest_still_go_in(tree: Tree, db: str,
                                                                 store: Any) -> None:
    tree.build("logs/j/8", junit={"artifacts/junit.xml": junit([("a", "passed")]),
                                  "artifacts/alerts_bad.json": b'{"Alerts": 1}'})
    assert crawl(tree, db, "logs/j") == 0
    run = store.get_run("j", "8")
    assert run.counts.passed == 1
    assert "alerts_bad.json" in run.spec.metadata["crawl.junit_errors"]
