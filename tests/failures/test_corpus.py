"""Classification and clustering on the shipped log corpus (``tests/data/logs``, with its ground
truth in ``manifest.json`` and its curated patterns in ``patterns.json``)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest

from api.failures.classify import classify
from api.failures.clusters import cluster, unexplained
from api.failures.model import Classification, LineMatch, Match, Pattern, PatternSyntax
from api.junit._text import strip_ansi
from tests.fixtures import ROOT

CORPUS = ROOT / "tests" / "data" / "logs"
MANIFEST: dict[str, Any] = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
FAILED = [log for log in MANIFEST["logs"] if log["status"] == "failure"]


def _pattern(raw: dict[str, Any]) -> Pattern:
    return Pattern(id=raw["id"], version=raw["version"], expression=raw["expression"],
                   syntax=PatternSyntax(raw["syntax"]), tags=tuple(raw["tags"]),
                   steps=tuple(raw["steps"]), specificity=raw["specificity"],
                   lines_from_end=raw["lines_from_end"],
                   created=datetime.fromisoformat(raw["created"]), promoted=raw["promoted"])


PATTERNS = {p.id: p for p in map(_pattern, json.loads(
    (CORPUS / "patterns.json").read_text(encoding="utf-8")))}
GENERIC = frozenset(MANIFEST["generic_patterns"])


def lines_of(log: dict[str, Any]) -> list[str]:
    text = (CORPUS / log["file"]).read_text(encoding="utf-8")
    return [strip_ansi(line) for line in text.splitlines()]


def classified(log: dict[str, Any]) -> Classification:
    lines = lines_of(log)
    matches = [Match(log["job"], log["run_id"], log["step"],
                     LineMatch(pid, 1, line, 0, 1, lines[line - 1]))
               for pid, line in log["matches"]]
    return classify(log["job"], log["run_id"], matches, PATTERNS, [], False, generic=GENERIC)


@pytest.mark.parametrize("log", FAILED, ids=[log["file"] for log in FAILED])
def test_every_failed_log_gets_its_expected_class_and_decisive_pattern(
        log: dict[str, Any]) -> None:
    got = classified(log)
    assert got.failure_class.value == log["expected"]
    assert (got.decisive.line.pattern_id if got.decisive else None) == log["decisive"]


def test_the_injected_unexplained_causes_come_out_as_clusters() -> None:
    items = []
    for log in FAILED:
        got = classified(log)
        if got.failure_class.value != "new":
            continue
        found = unexplained(got, log["step"], lines_of(log))
        assert found is not None, log["file"]
        items.append(found)
    clusters = cluster(items)
    home = {(e.job, e.run_id): c.normal for c in clusters for e in c.examples}
    by_cause: dict[str, set[str]] = defaultdict(set)
    for log in FAILED:
        if log["expected"] == "new":
            by_cause[log["cluster"] or log["cause"]].add(home[(log["job"], log["run_id"])])
    # Each injected cause is one cluster of its own, counted once per failure.
    assert all(len(normals) == 1 for normals in by_cause.values()), by_cause
    assert len({next(iter(n)) for n in by_cause.values()}) == len(by_cause)
    sizes = {c.normal: c.count for c in clusters}
    expected = defaultdict(int)
    for log in FAILED:
        if log["expected"] == "new":
            expected[next(iter(by_cause[log["cluster"] or log["cause"]]))] += 1
    assert sizes == expected
    assert max(sizes.values()) >= 2
