from __future__ import annotations

import json

from client.models import Verdict
from client.render import render_json, render_text
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
