"""The scanner finds exactly the ground-truth matches of the shipped realistic log corpus.

``tests/data/logs`` was written by ``bench/log_corpus.py`` with its (pattern, line) matches
computed the slow way, with Python's ``re`` line by line, on the ANSI-stripped text (as the log
store keeps logs), with steps and ``lines_from_end`` applied.
"""

from __future__ import annotations

import json
import re

from api.failures.model import Pattern, PatternSyntax
from api.failures.scan import compile_patterns, scan
from tests.fixtures import ROOT

SHIPPED = ROOT / "tests" / "data" / "logs"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def curated() -> list[Pattern]:
    rows = json.loads((SHIPPED / "patterns.json").read_text())
    return [Pattern(row["id"], row["version"], row["expression"], PatternSyntax(row["syntax"]),
                    tags=tuple(row["tags"]), steps=tuple(row["steps"]),
                    specificity=row["specificity"], lines_from_end=row["lines_from_end"])
            for row in rows]


def test_every_log_of_the_corpus_gives_its_ground_truth_matches() -> None:
    compiled = compile_patterns(curated())
    logs = json.loads((SHIPPED / "manifest.json").read_text())["logs"]
    assert len(compiled) == 100
    total = 0
    for log in logs:
        text = ANSI.sub("", (SHIPPED / log["file"]).read_text()).encode()
        found = [(m.pattern_id, m.line_number) for m in scan(compiled, text, step=log["step"])]
        assert sorted(found) == sorted(tuple(pair) for pair in log["matches"]), log["file"]
        total += len(found)
    assert total > len(logs)
