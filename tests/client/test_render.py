from __future__ import annotations

import json

from client.models import Verdict
from client.render import render_json, render_markdown, render_text
from tests.client.conftest import verdict_body


def test_text_names_every_job_and_regression() -> None:
    text = render_text(Verdict.from_json(verdict_body("fail", regressions=2)))
    assert text.startswith("payload 4.19.0-0.nightly-2026-11-20-101010: FAIL (policy bayes)")
    assert "FAIL    e2e-aws: runs 10/10 finished" in text
    assert "baseline v7 (200 runs)" in text and "baseline none" in text
    assert "notes: new test: 2, did not run: 1" in text
    assert text.count("unit :: [sig-x] test") == 2
    assert "p=1.2e-09" in text and "baseline pass rate 99.8%" in text


def test_json_is_the_servers_body() -> None:
    body = verdict_body("pass")
    assert json.loads(render_json(Verdict.from_json(body))) == body


def test_markdown_tables_escape_cells() -> None:
    markdown = render_markdown(Verdict.from_json(verdict_body("fail", regressions=1)),
                               report_url="https://fg.example/r")
    assert markdown.startswith("## ❌ flakegate: payload `4.19.0-0.nightly-2026-11-20-101010`"
                               " is **fail**")
    assert "[full report](https://fg.example/r)" in markdown
    assert "### Regressions" in markdown
    row = next(line for line in markdown.splitlines() if "[sig-x] test 0" in line)
    # A '|' in a test name must not open a new column; HTML must not render.
    assert "test 0 \\| pipes &lt;b&gt;" in row
    assert row.count(" | ") == 7  # eight columns


def test_markdown_of_a_pass_has_no_regression_table() -> None:
    markdown = render_markdown(Verdict.from_json(verdict_body("pass")))
    assert "is **pass**" in markdown and "Regressions" not in markdown


def test_markdown_is_trimmed_under_the_byte_budget() -> None:
    verdict = Verdict.from_json(verdict_body("fail", regressions=5000))
    full = render_markdown(verdict)
    assert len(full.encode()) > 100_000
    trimmed = render_markdown(verdict, max_bytes=100_000, report_url="https://fg.example/r")
    assert len(trimmed.encode()) <= 100_000
    assert "more regressions are not shown here" in trimmed
    assert "[full report](https://fg.example/r)" in trimmed.splitlines()[-1]
    shown = sum(1 for line in trimmed.splitlines() if "[sig-x] test" in line)
    assert 100 < shown < 5000
    assert f"_{5000 - shown} more regressions" in trimmed
