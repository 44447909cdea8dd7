"""Normalising and clustering the unexplained failures' decisive lines."""

from __future__ import annotations

import pytest

from api.failures.clusters import (
    Unexplained,
    cluster,
    error_line,
    jaccard,
    normalise,
    unexplained,
)


@pytest.mark.parametrize(("line", "normal"), [
    ("dial tcp 10.0.0.12:443: i/o timeout after 30s",
     "dial tcp <ip>: i/o timeout after <duration>"),
    ("2026-03-01T12:00:01.123Z build 41 failed", "<time> build <n> failed"),
    ("job 123e4567-e89b-12d3-a456-426614174000 at deadbeef12", "job <uuid> at <hex>"),
    ("segfault at 0x7ffd1234", "segfault at <hex>"),
    ("Error: cannot open /tmp/build-1234/out.txt: gone", "Error: cannot open <path>: gone"),
    ("fetch https://deb.debian.org/x.deb  503", "fetch <url> <n>"),
    ("FAIL: TestDial (0.53s)", "FAIL: TestDial (<duration>)"),
    # Plain words with hex letters stay words; 'i/o' is not a path.
    ("failed to decode the cafe feed", "failed to decode the cafe feed"),
])
def test_normalise_collapses_the_variable_parts(line: str, normal: str) -> None:
    assert normalise(line) == normal


def test_error_line_prefers_the_most_telling_cue_near_the_end() -> None:
    lines = ["ok", "error: early and far", *["noise"] * 5, "panic: runtime error: nil map",
             "goroutine 1 [running]:", "FAIL example.com/pkg 0.01s", "exit status 2"]
    assert error_line(lines) == (8, "panic: runtime error: nil map")
    assert error_line(["Killed", "Process completed with exit code 1."]) == (1, "Killed")
    traceback = ["Traceback (most recent call last):", '  File "x.py", line 3, in <module>',
                 "KeyError: 'release-4.18'", "exit code 1"]
    assert error_line(traceback) == (3, "KeyError: 'release-4.18'")
    assert error_line(lines[:3], tail=1) is None  # the error is beyond the tail
    assert error_line(["all good"]) is None


def item(run: str, text: str, job: str = "j") -> Unexplained:
    return Unexplained(job=job, run_id=run, step="build", line_number=7, text=text)


def test_equal_normal_forms_cluster_with_counts_and_examples() -> None:
    items = [item(f"r{i}", f"dial tcp 10.0.0.{i}:443: i/o timeout") for i in range(5)]
    items += [item("x1", "AssertionError: expected 3 got 4"),
              item("x2", "AssertionError: expected 5 got 9")]
    got = cluster(items, similarity=None, examples=2)
    assert [(c.normal, c.count) for c in got] == [
        ("dial tcp <ip>: i/o timeout", 5), ("AssertionError: expected <n> got <n>", 2)]
    assert [e.run_id for e in got[0].examples] == ["r0", "r1"]


def test_near_equal_forms_merge_into_the_larger_cluster_only_when_asked() -> None:
    items = [item(f"a{i}", "ImportError: cannot import name foo from bar") for i in range(3)]
    items.append(item("b", "ImportError: cannot import name foo from baz"))
    items.append(item("c", "OSError: disk full"))
    assert len(cluster(items, similarity=None)) == 3
    merged = cluster(items, similarity=0.7)
    assert [(c.count, len(c.examples)) for c in merged] == [(4, 3), (1, 1)]
    assert merged[0].normal == "ImportError: cannot import name foo from bar"
    assert jaccard(frozenset("ab"), frozenset("bc")) == pytest.approx(1 / 3)


def test_the_decisive_line_is_the_match_else_the_logs_error_line() -> None:
    from api.failures.model import Classification, FailureClass
    from tests.failures.helpers import match

    matched = Classification("j", "r1", FailureClass.NEW, "", decisive=match(3, 12, text="x"))
    assert unexplained(matched, None, None) == Unexplained("j", "r1", "build", 12, "x")
    bare = Classification("j", "r1", FailureClass.NEW, "")
    assert unexplained(bare, "test", ["ok", "FAIL: TestX"]) == Unexplained(
        "j", "r1", "test", 2, "FAIL: TestX")
    assert unexplained(bare, None, None) is None
    assert unexplained(bare, "test", ["all good"]) is None
