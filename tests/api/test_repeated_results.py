"""A test repeated inside one run is stored the same whichever way it arrived.

Inline tests of a ``PUT``, retries inside one JUnit file, and the same test spread over two
attached files all meet :func:`api.domain.merge_outcome`; before it was the one rule, the
inline path kept the last duration and the first message while JUnit summed and appended.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from api.domain import TestResult, TestStatus, merge_results
from tests.conftest import ApiClient

ATTEMPTS = [  # (status, seconds, failure text)
    ("failed", 1.5, "timed out waiting for the pod"),
    ("failed", 2.0, "connection refused"),
    ("passed", 3.25, None),
]


def _junit(attempts: list[tuple[str, float, str | None]]) -> bytes:
    cases = []
    for status, seconds, message in attempts:
        inner = f'<failure message="{message}"/>' if status == "failed" else ""
        cases.append(f'<testcase classname="unit" name="t" time="{seconds}">{inner}</testcase>')
    return f'<testsuite name="unit">{"".join(cases)}</testsuite>'.encode()


def _stored(api: ApiClient, run: str) -> dict[str, Any]:
    (row,) = api.get(f"/jobs/j/runs/{run}/tests").json["items"]
    return {key: row[key] for key in ("name", "suite", "status", "duration_s", "message")}


@pytest.fixture
def rows(api: ApiClient) -> dict[str, dict[str, Any]]:
    inline = [{"name": "t", "suite": "unit", "status": status, "duration_s": seconds,
               **({"message": message} if message else {})}
              for status, seconds, message in ATTEMPTS]
    assert api.put("/jobs/j/runs/inline", json={"status": "success",
                                                 "tests": inline}).status_code == 201

    assert api.put("/jobs/j/runs/one-file", json={"status": "success"}).status_code == 201
    assert api.post_junit("/jobs/j/runs/one-file", _junit(ATTEMPTS)).status_code == 201

    assert api.put("/jobs/j/runs/files", json={"status": "success"}).status_code == 201
    for index, attempt in enumerate(ATTEMPTS):
        response = api.post_junit("/jobs/j/runs/files", _junit([attempt]),
                                  filename=f"attempt-{index}.xml")
        assert response.status_code == 201
    return {run: _stored(api, run) for run in ("inline", "one-file", "files")}


def test_inline_and_junit_uploads_of_a_repeated_test_store_identical_rows(
        rows: dict[str, dict[str, Any]]) -> None:
    assert rows["inline"] == rows["one-file"] == rows["files"]


def test_the_stored_row_is_the_domain_merge(rows: dict[str, dict[str, Any]]) -> None:
    results = [TestResult("t", "unit", TestStatus.from_wire(status), seconds, message)
               for status, seconds, message in ATTEMPTS]
    merged = functools.reduce(merge_results, results)
    assert merged.status is TestStatus.FLAKED
    assert merged.message == "timed out waiting for the pod\n\nconnection refused"
    assert rows["inline"] == {"name": "t", "suite": "unit", "status": "flaked",
                              "duration_s": 6.75, "message": merged.message}
