"""Each of Kettle's known defects (SPEC §6), and flakegate doing it right, through a real crawl
of the GCS emulator into a real store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from api.domain import TestStatus
from api.store import CrawlState
from client.cli import main
from tests.crawl.conftest import Pages, Tree, junit


def crawl(tree: Tree, db: str, *prefixes: str, extra: tuple[str, ...] = ()) -> int:
    args = ["crawl", "gcs", "--bucket", tree.name, "--db", db, "--workers", "2"]
    for prefix in prefixes:
        args += ["--prefix", prefix]
    return main([*args, *extra])


def statuses(store: Any, job: str, run_id: str) -> dict[str, TestStatus]:
    return {t.name: t.status for t in store.get_run_tests(job, run_id)}


def test_kettle_error_only_testcase_counted_as_passed(tree: Tree, db: str, store: Any) -> None:
    tree.build("logs/j/1", junit={"artifacts/junit.xml": junit([("t", "error"), ("u", "passed")])})
    assert crawl(tree, db, "logs/j") == 0
    tests = statuses(store, "j", "1")
    assert tests["t"] is TestStatus.ERROR and tests["t"].counts_as_failure
    assert store.get_run("j", "1").counts.errors == 1


def test_kettle_deeper_testsuites_lost(tree: Tree, db: str, store: Any) -> None:
    nested = (b'<testsuites><testsuite name="outer"><testsuite name="inner">'
              b'<testsuite name="deepest"><testcase name="deep" classname="x">'
              b'<failure>no</failure></testcase></testsuite></testsuite>'
              b'<testcase name="shallow" classname="y"/></testsuite></testsuites>')
    tree.build("logs/j/1", junit={"artifacts/junit_nested.xml": nested}, result="FAILURE")
    assert crawl(tree, db, "logs/j") == 0
    tests = {(t.suite, t.name): t.status for t in store.get_run_tests("j", "1")}
    assert tests[("deepest", "x.deep")] is TestStatus.FAILED
    assert tests[("outer", "y.shallow")] is TestStatus.PASSED


def test_kettle_nested_artifact_folders_lost(tree: Tree, db: str, store: Any) -> None:
    tree.build("logs/j/1", junit={
        "artifacts/junit_top.xml": junit([("top", "passed")]),
        "artifacts/e2e/junit_1.xml": junit([("one", "passed")]),
        "artifacts/e2e/aws/shard-3/junit_e2e_20261122.xml": junit([("deep", "failed")]),
        "artifacts/e2e/not-a-junit.xml": b"<ignored/>",
        "logs/junit_outside_artifacts.xml": junit([("outside", "passed")]),
    })
    assert crawl(tree, db, "logs/j") == 0
    run = store.get_run("j", "1")
    assert sorted(f.name for f in run.files) == [
        "artifacts/e2e/aws/shard-3/junit_e2e_20261122.xml", "artifacts/e2e/junit_1.xml",
        "artifacts/junit_top.xml"]
    assert set(statuses(store, "j", "1")) == {"top", "one", "deep"}


def test_kettle_skipped_tests_dropped(tree: Tree, db: str, store: Any) -> None:
    tree.build("logs/j/1", junit={"artifacts/junit.xml": junit([("s", "skipped"),
                                                                ("p", "passed")])})
    assert crawl(tree, db, "logs/j") == 0
    assert statuses(store, "j", "1") == {"s": TestStatus.SKIPPED, "p": TestStatus.PASSED}
    assert store.get_run("j", "1").counts.skipped == 1


def test_kettle_crier_lowercase_success_recorded_as_not_passed(tree: Tree, db: str,
                                                                store: Any) -> None:
    for build, result in enumerate(["success", "SUCCESS", "failure", "FAILURE", "aborted",
                                    "ABORTED", "error"], start=1):
        tree.build(f"logs/j/{build}", result=result)
    assert crawl(tree, db, "logs/j") == 0
    got = [store.get_run("j", str(b)).spec.status.value for b in range(1, 8)]
    assert got == ["success", "success", "failure", "failure", "aborted", "aborted", "error"]


def test_kettle_non_numeric_time_drops_build_retried_forever(tree: Tree, db: str, store: Any,
                                                             capsys: Any) -> None:
    bad_time = (b'<testsuite name="s"><testcase classname="s" name="a" time="N/A"/>'
                b'<testcase classname="s" name="b" time="1,5"><failure/></testcase>'
                b'</testsuite>')
    broken = b'<testsuite name="s"><testcase name="c"'  # truncated: not XML at all
    tree.build("logs/j/1", junit={"artifacts/junit_time.xml": bad_time,
                                  "artifacts/junit_broken.xml": broken}, result="FAILURE")
    assert crawl(tree, db, "logs/j") == 0
    assert "broken junit files 1" in capsys.readouterr().out
    run = store.get_run("j", "1")
    assert [f.name for f in run.files] == ["artifacts/junit_time.xml"]
    tests = {t.name: t for t in store.get_run_tests("j", "1")}
    assert tests["a"].duration_s is None and tests["a"].status is TestStatus.PASSED
    assert tests["b"].status is TestStatus.FAILED
    assert "artifacts/junit_broken.xml" in run.spec.metadata["crawl.junit_errors"]
    record = store.get_crawl_records(f"gs://{tree.name}", [f"gs://{tree.name}/logs/j/1"])
    (only,) = record.values()
    assert only.state is CrawlState.DONE and "junit_broken.xml" in only.reason
    # Never retried: the next crawl leaves it alone.
    assert crawl(tree, db, "logs/j") == 0
    assert "found 1, new 0, ingested 0" in capsys.readouterr().out


def test_kettle_unfinished_builds_never_emitted_nor_polled_after_five_days(
        tree: Tree, db: str, store: Any, capsys: Any) -> None:
    now = time.time()
    tree.build("logs/j/1", started=now - 3600, result=None)  # running
    tree.build("logs/j/2", started=now - 6 * 86400, result=None)  # abandoned
    assert crawl(tree, db, "logs/j") == 0
    out = capsys.readouterr().out
    assert "unfinished 1, aged out 1" in out
    assert store.get_run("j", "1").spec.status.value == "pending"  # emitted, as pending
    aged = store.get_run("j", "2")
    assert aged.spec.status.value == "error"  # never test evidence
    assert "aged out" in aged.spec.metadata["crawl.aged_out"]
    records = store.get_crawl_records(f"gs://{tree.name}", [
        f"gs://{tree.name}/logs/j/1", f"gs://{tree.name}/logs/j/2"])
    assert records[f"gs://{tree.name}/logs/j/1"].state is CrawlState.UNFINISHED
    assert records[f"gs://{tree.name}/logs/j/2"].state is CrawlState.FAILED
    assert records[f"gs://{tree.name}/logs/j/2"].reason.startswith("aged out")
    # The running build finishes: the next crawl re-polls it and ingests it; the aged-out one
    # stays visible in the ledger and is not read again.
    tree.build("logs/j/1", started=now - 3600, result="FAILURE",
               junit={"artifacts/junit.xml": junit([("x", "failed")])})
    assert crawl(tree, db, "logs/j") == 0
    assert "found 2, new 0, ingested 1, unfinished 0, aged out 0" in capsys.readouterr().out
    assert store.get_run("j", "1").spec.status.value == "failure"
    assert store.get_run("j", "1").counts.failed == 1


def test_kettle_exclude_regex_applied_as_substring(tree: Tree, db: str, store: Any,
                                                  pages: Pages, tmp_path: Any,
                                                  capsys: Any) -> None:
    for job in ("ci-e2e-canary", "ci-e2e-canary-extra", "ci-e2e"):
        tree.build(f"logs/{job}/1")
    # The pattern excludes exactly the job it names in full: not a substring match (Kettle's
    # streaming path used `in`, which never matches a regex) and not a prefix match.
    assert crawl(tree, db, "logs/ci-e2e-canary", "logs/ci-e2e-canary-extra", "logs/ci-e2e",
                 extra=("--exclude", "ci-.*-canary")) == 0
    assert store.get_job("ci-e2e-canary") is None
    assert store.get_job("ci-e2e-canary-extra") is not None
    assert store.get_job("ci-e2e") is not None
    # The same rule on the job-history path and from crawl.yaml.
    from api.crawl.config import Excluder

    rule = Excluder(["ci-.*-canary"])
    assert [rule.excluded(j) for j in ("ci-e2e-canary", "ci-e2e-canary-extra", "xci-e2e-canary")
            ] == [True, False, False]
    tree.build("logs/other-canary/5", prowjob={"spec": {"job": "ci-x-canary"}})
    config = tmp_path / "crawl.yaml"
    config.write_text(f"sources:\n  - bucket: {tree.name}\n    prefixes: [logs/other-canary]\n"
                      "    exclude: ['ci-.*-canary']\n")
    assert main(["crawl", "--config", str(config), "--db", db]) == 0
    assert store.get_job("ci-x-canary") is None  # excluded by its ProwJob name too
    assert "skipped 1" in capsys.readouterr().out


def test_kettle_batch_runs_missed_by_directory_scan(tree: Tree, db: str, store: Any,
                                                   capsys: Any) -> None:
    tree.build("pr-logs/pull/org_repo/12/pull-j/100")
    tree.put("pr-logs/directory/pull-j/100.txt", f"gs://{tree.name}/pr-logs/pull/org_repo/12/pull-j/100")
    tree.put("pr-logs/directory/pull-j/latest-build.txt", "100")
    tree.build("pr-logs/pull/batch/pull-j/101")  # a batch run: no alias
    assert crawl(tree, db, "pr-logs/directory/pull-j") == 0
    assert "found 2, new 2, ingested 2" in capsys.readouterr().out
    assert store.get_run("pull-j", "101").spec.metadata["prow.org_repo"] == "batch"
    assert store.get_run("pull-j", "100").spec.metadata["pr.numbers"] == "12"


def test_kettle_emitted_keyed_by_day_window_duplicates(tree: Tree, db: str, store: Any,
                                                      capsys: Any) -> None:
    now = datetime.now(UTC)
    for build, days in ((1, 1), (2, 3), (3, 10)):
        tree.build(f"logs/j/{build}", started=(now - timedelta(days=days)).timestamp(),
                   junit={"artifacts/junit.xml": junit([("t", "passed")])})
    assert crawl(tree, db, "logs/j", extra=("--since", (now - timedelta(days=2)).isoformat())) == 0
    assert "ingested 1" in capsys.readouterr().out
    before = store.get_run("j", "1")
    # A wider window picks up the older builds and re-emits nothing already ingested.
    assert crawl(tree, db, "logs/j", extra=("--since", (now - timedelta(days=30)).isoformat())) == 0
    assert "found 3, new 2, ingested 2" in capsys.readouterr().out
    assert store.get_run("j", "1").updated_at == before.updated_at
    assert crawl(tree, db, "logs/j") == 0
    assert "new 0, ingested 0" in capsys.readouterr().out
    page = store.list_runs("j", limit=10)
    assert sorted(r.spec.run_id for r in page.items) == ["1", "2", "3"]
    assert all(len(store.get_run_tests("j", r)) == 1 for r in ("1", "2", "3"))
