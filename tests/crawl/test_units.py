"""Pure pieces of the crawler: status mapping, paths, exclusion, config, rate limit, gzip,
progress. No emulator needed."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.crawl.config import ConfigError, Excluder, load_config
from api.crawl.gcs import TooLarge, gunzip_capped
from api.crawl.mapping import map_build, status_of
from api.crawl.prow import BuildFiles, BuildRef, parse_build_path, parse_gs_url
from api.crawl.retry import RateLimiter
from api.crawl.runner import Progress
from client.cli import main


@pytest.mark.parametrize(("result", "passed", "expected"), [
    ("SUCCESS", True, "success"), ("success", None, "success"), ("FAILURE", False, "failure"),
    ("failure", None, "failure"), ("ABORTED", None, "aborted"), ("aborted", None, "aborted"),
    ("error", None, "error"), ("ERROR", None, "error"), ("PENDING", None, "pending"),
    (None, True, "success"), (None, False, "failure"), (None, None, None),
    ("weird", None, "error"),
])
def test_status_of(result: Any, passed: Any, expected: str | None) -> None:
    assert status_of(result, passed) == expected


@given(st.sampled_from(["success", "failure", "aborted", "error"]),
       st.lists(st.booleans(), min_size=16, max_size=16))
def test_status_ignores_case(word: str, upper: list[bool]) -> None:
    mixed = "".join(c.upper() if u else c for c, u in zip(word, upper, strict=False))
    assert status_of(mixed) == word == status_of(f"  {mixed} ")


def test_parse_build_paths() -> None:
    assert parse_build_path("b", "logs/j/12") == BuildRef("b", "logs/j/12", "j", "12")
    pr = parse_build_path("b", "pr-logs/pull/org_repo/5/pull-j/13/")
    assert pr is not None and (pr.job, pr.pull, pr.org_repo) == ("pull-j", "5", "org_repo")
    batch = parse_build_path("b", "pr-logs/pull/batch/pull-j/14")
    assert batch is not None and batch.org_repo == "batch" and batch.pull is None
    assert parse_build_path("b", "logs/j/latest-build.txt") is None
    assert parse_gs_url("gs://bkt/pr-logs/pull/x/1/j/2\n") == ("bkt", "pr-logs/pull/x/1/j/2")
    assert parse_gs_url("https://x") is None


def test_unfinished_and_notes_mapping() -> None:
    ref = BuildRef("b", "logs/j/1", "j", "1")
    run = map_build(BuildFiles(ref, started={"timestamp": 1_700_000_000}))
    assert not run.finished and run.fields["status"] == "pending"
    assert run.fields["url"] == "gs://b/logs/j/1"
    ended = map_build(BuildFiles(ref, started={}, finished={"timestamp": 1_700_000_100}))
    assert ended.finished and ended.fields["status"] == "error"  # finished without a result
    noted = map_build(BuildFiles(ref, notes=["started.json: not valid JSON"]))
    assert noted.fields["metadata"]["crawl.notes"].startswith("started.json")


def test_excluder_is_anchored() -> None:
    rule = Excluder(["pull-.*-canary", "ci-foo"])
    assert rule.excluded("pull-e2e-canary") and rule.excluded("ci-foo")
    assert not rule.excluded("ci-foo-bar") and not rule.excluded("x-ci-foo")
    assert not rule.excluded("pull-e2e-canary-2")
    with pytest.raises(ConfigError, match="exclude pattern"):
        Excluder(["("])


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "expected a mapping with a 'sources' list"),
    ("sources: [{bucket: b, prefixes: [logs/x], bogus: 1}]", "unknown keys"),
    ("sources: [{bucket: b, job_history: 'http://x'}]", "either bucket"),
    ("sources: [{bucket: b, prefixes: [logs/x], limit: 0}]", "positive integer"),
    ("sources: [{bucket: b, prefixes: [logs/x], since: yesterday}]", "not a date"),
    ("settings: {workers: 0}\nsources: []", "positive integer"),
    ("settings: {unfinished_max_age: soon}\nsources: []", "unfinished_max_age"),
    ("sources: [{bucket: b, prefixes: [logs/x], payload: {labelz: [a]}}]", "unknown keys"),
])
def test_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "crawl.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_config_reference(tmp_path: Path) -> None:
    path = tmp_path / "crawl.yaml"
    path.write_text(
        "settings: {workers: 8, unfinished_max_age: 3d, build_log_dir: /tmp/logs}\n"
        "sources:\n"
        "  - bucket: b\n    prefixes: [logs/a, pr-logs/directory/b]\n"
        "    exclude: ['.*-canary']\n    payload: {labels: [rel], metadata: [job-version]}\n"
        "    since: 2026-11-01\n    limit: 10\n"
        "  - job_history: https://prow.k8s.io/job-history/gs/b/logs/c\n")
    config = load_config(path)
    assert config.settings.workers == 8 and config.settings.unfinished_max_age == 3 * 86400
    first, second = config.sources
    assert first.prefixes == ("logs/a", "pr-logs/directory/b") and first.limit == 10
    assert first.payload.labels == ("rel",)
    assert first.payload.annotations == ("release.openshift.io/tag",)
    assert first.since is not None and first.since.tzinfo is not None
    assert second.job_history and second.bucket is None


def test_rate_limiter_spaces_calls() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(12):
        limiter.acquire()
    assert now[0] == pytest.approx(1.0, abs=0.01)  # 2 free, then 10 at 10/s
    unlimited = RateLimiter(0, sleep=sleep)
    before = len(waits)
    for _ in range(100):
        unlimited.acquire()
    assert len(waits) == before


def test_gunzip_capped() -> None:
    assert gunzip_capped(gzip.compress(b"a") + gzip.compress(b"b"), 10, name="x") == b"ab"
    with pytest.raises(TooLarge):
        gunzip_capped(gzip.compress(b"0" * 10_000_000), 1000, name="bomb")
    with pytest.raises(ValueError, match="truncated"):
        gunzip_capped(gzip.compress(b"abc" * 1000)[:20], 10_000, name="cut")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress(4, "crawl b", stream)
        for _ in range(4):
            bar.step()
        bar.close()
    assert "\rcrawl b [" in tty.getvalue() and tty.getvalue().endswith("4/4\n")
    assert pipe.getvalue() == ""


def test_crawl_without_a_source_is_a_usage_error(capsys: Any) -> None:
    assert main(["crawl"]) == 2
    assert "--config" in capsys.readouterr().err
