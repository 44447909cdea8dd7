"""The real mini GCS tree from deck's test data and real JUnit files, crawled end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.store import CrawlState
from client.cli import main
from tests.crawl.conftest import Tree


def load_deck_tree(tree: Tree, fixtures: Path) -> None:
    root = fixtures / "json" / "gcs-tree-from-deck-test" / "kubernetes-jenkins"
    for file in sorted(root.rglob("*")):
        if file.is_file():
            # Aliases name the real bucket; point them at this test's bucket instead.
            data = file.read_bytes().replace(b"gs://kubernetes-jenkins/",
                                             f"gs://{tree.name}/".encode())
            tree.put(file.relative_to(root).as_posix(), data)


def crawl(tree: Tree, db: str, *prefixes: str, extra: tuple[str, ...] = ()) -> int:
    args = ["crawl", "gcs", "--bucket", tree.name, "--db", db, "--workers", "2"]
    for prefix in prefixes:
        args += ["--prefix", prefix]
    return main([*args, *extra])


def test_deck_tree_periodic_and_pr_aliases(tree: Tree, fixtures_dir: Path, db: str,
                                           store: Any, capsys: Any) -> None:
    load_deck_tree(tree, fixtures_dir)
    code = crawl(tree, db, "logs/post-cluster-api-provider-openstack-push-images",
                 "pr-logs/directory/pull-test-infra-bazel")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "found 3, new 3, ingested 3" in out
    run = store.get_run("post-cluster-api-provider-openstack-push-images", "1253687771944456193")
    assert run.spec.status.value == "success"
    assert run.spec.started_at.timestamp() == 1587737470
    assert run.spec.finished_at.timestamp() == 1587738205
    pr = store.get_run("pull-test-infra-bazel", "1254406011708510210")
    assert pr.spec.metadata["pr.numbers"] == "17183"
    assert pr.spec.metadata["prow.org_repo"] == "test-infra"
    assert pr.spec.metadata["prow.pull"] == "17183"
    assert "kubernetes/test-infra" in pr.spec.metadata["prow.repos"]
    assert store.get_run("pull-test-infra-bazel", "1221704015146913792") is not None
    records = store.list_crawl_records(f"gs://{tree.name}", limit=10).items
    assert {r.state for r in records} == {CrawlState.DONE}


def test_deck_tree_pull_walk_finds_the_same_builds(tree: Tree, fixtures_dir: Path, db: str,
                                                   store: Any, capsys: Any) -> None:
    load_deck_tree(tree, fixtures_dir)
    assert crawl(tree, db, "pr-logs/pull") == 0
    assert "found 2, new 2, ingested 2" in capsys.readouterr().out
    # The same builds through their aliases: already done, nothing ingested twice.
    assert crawl(tree, db, "pr-logs/directory/pull-test-infra-bazel") == 0
    assert "found 2, new 0, ingested 0" in capsys.readouterr().out


def test_real_junit_files_counts(tree: Tree, fixtures_dir: Path, db: str, store: Any,
                                 capsys: Any) -> None:
    junit = fixtures_dir / "junit"
    files = {
        "artifacts/junit_01.xml":
            junit / "k8s-e2e-v1.35-ginkgo2-1failed-HANDEDITED_junit_01.xml",
        "artifacts/kubevirt/junit.functest.xml":
            junit / "kubevirt-functest-ginkgo1_1failure_junit.xml",
        "artifacts/a/b/junit_cis.xml": junit / "sonobuoy-cis-benchmark_junit.xml",
    }
    tree.build("logs/e2e/100", junit={name: path.read_bytes() for name, path in files.items()},
               result="FAILURE", gzip_encoded=True)
    assert crawl(tree, db, "logs/e2e") == 0, capsys.readouterr()
    run = store.get_run("e2e", "100")
    assert run.spec.status.value == "failure"
    assert sorted(f.name for f in run.files) == sorted(files)
    # The three files' results side by side (distinct suites): 7353 + 1056 + 12 tests, the
    # skipped ones kept (Kettle drops them), and exactly 1 + 1 + 6 failures.
    assert (run.counts.total, run.counts.passed, run.counts.failed, run.counts.skipped) == (
        8421, 639, 8, 7774)
