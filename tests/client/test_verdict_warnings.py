"""Verdict warnings (e.g. ``no_baseline``) reach stderr in every output format, and stdout
keeps the chosen format intact."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from client.models import Verdict
from client.render import warning_lines
from tests.client.conftest import verdict_body
from tests.client.test_client_commands import (  # noqa: F401  (fixtures)
    BASE,
    PAYLOAD,
    VERDICT_URL,
    clean_environment,
    mocked,
    verdict,
)

WARNING = {"code": "no_baseline", "job": "e2e-gcp",
           "message": "job 'e2e-gcp' has no baseline: every test is judged as new"}


def warned_body() -> dict[str, Any]:
    body = verdict_body("pass")
    body["jobs"][1]["warnings"] = [WARNING]
    body["jobs"][0]["warnings"] = []
    body["warnings"] = [WARNING]
    return body


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_warnings_go_to_stderr_in_every_format(mocked: responses.RequestsMock,  # noqa: F811
                                               capsys: pytest.CaptureFixture[str],
                                               fmt: str) -> None:
    mocked.get(VERDICT_URL, json=warned_body(),
               match=[responses.matchers.query_param_matcher({})])
    mocked.get(VERDICT_URL, body="## pass\n", content_type="text/markdown",
               match=[responses.matchers.query_param_matcher({"format": "markdown"})])
    assert verdict("--format", fmt) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "flakegate: warning (no_baseline): job 'e2e-gcp' has no baseline: every test is "
        "judged as new"]
    assert "flakegate: warning" not in captured.out
    if fmt == "json":
        assert json.loads(captured.out)["warnings"] == [WARNING]


def test_no_warning_no_stderr(mocked: responses.RequestsMock,  # noqa: F811
                              capsys: pytest.CaptureFixture[str]) -> None:
    mocked.get(VERDICT_URL, json=verdict_body("pass"))
    assert verdict() == 0
    assert capsys.readouterr().err == ""


def test_string_warnings_and_older_servers_parse() -> None:
    body = verdict_body("pass")
    assert Verdict.from_json(body).warnings == ()
    body["warnings"] = ["plain words"]
    assert warning_lines(Verdict.from_json(body)) == ["flakegate: warning: plain words"]
