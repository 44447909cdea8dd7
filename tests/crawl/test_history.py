"""Prow job-history pages in both formats, paginated, served on loopback, then read from the
bucket like any build."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from api.crawl.history import HistoryPageError, job_history_target, parse_page
from client.cli import main
from tests.crawl.conftest import Pages, Tree, junit

JOB = "ci-kubernetes-e2e-gce"


def current_page(bucket: str, ids: list[int]) -> str:
    builds = [{"SpyglassLink": f"/view/gs/{bucket}/logs/{JOB}/{i}", "ID": str(i),
               "Started": (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=i % 1000))
               .isoformat().replace("+00:00", "Z"),
               "Duration": 3_600_000_000_000, "Result": "SUCCESS", "Refs": None}
              for i in ids]
    return ("<html><head><script type=\"text/javascript\">\n"
            f"var allBuilds = {json.dumps(builds)};\n</script></head><body>"
            "<div id=\"builds\"></div></body></html>")


def old_page(bucket: str, ids: list[int]) -> str:
    rows = "".join(
        f'<tr id="build-{i}" class="run-{"success" if i % 2 else "failure"}">'
        f'<td><a href="/view/gcs/{bucket}/logs/{JOB}/{i}">{i}</a></td><td>1h</td></tr>'
        for i in ids)
    return (f"<html><body><h2>job-history {JOB}</h2><table id=\"builds\">{rows}</table>"
            f"<a href=\"?buildId={min(ids) - 1 if ids else 0}\">&lt;- Older Runs</a>"
            "</body></html>")


def serve(pages: Pages, bucket: str, all_ids: list[int], render: Any) -> str:
    path = f"/job-history/gs/{bucket}/logs/{JOB}"

    def page(request: str) -> str | None:
        parts = urlsplit(request)
        if parts.path != path:
            return None
        below = parse_qs(parts.query).get("buildId")
        ids = [i for i in sorted(all_ids, reverse=True)
               if below is None or i <= int(below[0])][:20]
        return render(bucket, ids)

    pages.render = page
    return pages.url + path


@pytest.mark.parametrize("render", [current_page, old_page], ids=["allBuilds", "pre-2021"])
def test_job_history_paginates_and_ingests(render: Any, tree: Tree, pages: Pages, db: str,
                                           store: Any, capsys: Any) -> None:
    ids = [1_700_000_000_000_000_000 + i * 7 for i in range(45)]  # 3 pages of <= 20
    for i in ids:
        tree.build(f"logs/{JOB}/{i}", junit={"artifacts/junit.xml": junit([("t", "passed")])})
    url = serve(pages, tree.name, ids, render)
    assert main(["crawl", "prow", "--job-url", url, "--db", db, "--history-rate", "0"]) == 0
    assert "found 45, new 45, ingested 45" in capsys.readouterr().out
    asked = [h for h in pages.hits if "buildId" in h]
    assert len(asked) == 3  # pages 2 and 3 (short), then an empty page 4 ends it
    assert len(store.list_runs(JOB, limit=100).items) == 45
    # --limit stops paging early.
    pages.hits.clear()
    assert main(["crawl", "prow", "--job-url", url, "--db", db, "--limit", "5",
                 "--history-rate", "0"]) == 0
    assert "found 5, new 0, ingested 0" in capsys.readouterr().out
    assert len(pages.hits) == 1


def test_job_history_retries_a_busy_deck(tree: Tree, pages: Pages, db: str,
                                        capsys: Any) -> None:
    tree.build(f"logs/{JOB}/5")
    url = serve(pages, tree.name, [5], current_page)
    pages.fail_next = 2
    assert main(["crawl", "prow", "--job-url", url, "--db", db, "--history-rate", "0"]) == 0
    assert "ingested 1" in capsys.readouterr().out


def test_parse_page_formats() -> None:
    assert [b.id for b in parse_page(current_page("b", [3, 2]))] == ["3", "2"]
    old = parse_page(old_page("b", [9, 8]))
    assert [(b.id, b.result, b.view_path) for b in old] == [
        ("9", "SUCCESS", f"/view/gcs/b/logs/{JOB}/9"),
        ("8", "FAILURE", f"/view/gcs/b/logs/{JOB}/8")]
    assert parse_page(current_page("b", [])) == []
    with pytest.raises(HistoryPageError):
        parse_page("<html>login required</html>")
    assert job_history_target("https://prow.k8s.io/job-history/gs/kubernetes-jenkins/pr-logs/"
                              "directory/pull-x") == ("kubernetes-jenkins",
                                                      "pr-logs/directory/pull-x")
    with pytest.raises(ValueError):
        job_history_target("https://prow.k8s.io/view/gs/x")


def test_bad_job_url_is_a_usage_error(db: str, capsys: Any) -> None:
    assert main(["crawl", "prow", "--job-url", "https://prow.k8s.io/nothing", "--db", db]) == 2
    assert "not a job-history URL" in capsys.readouterr().err
