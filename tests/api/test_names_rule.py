"""One name rule everywhere (issue 11, item 6): api/names.py, the schemas and the JUnit path."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from api.names import (
    NAME_MAX_BYTES,
    REQUEST_LINE_LIMIT,
    TEST_NAME_MAX,
    cut_test_name,
    filename_problem,
    longest_upload_line,
    name_problem,
)
from tests.conftest import ApiClient, junit_xml

RUN = "/jobs/j/runs/1"


def test_a_long_test_name_is_cut_to_its_head_and_a_hash_deterministically() -> None:
    first, second = "a" * 5000 + "x", "a" * 5000 + "y"
    cut_first, was_cut = cut_test_name(first)
    assert was_cut and len(cut_first) == TEST_NAME_MAX
    assert cut_first.startswith("a" * 4000) and "…[sha256:" in cut_first
    assert cut_test_name(first) == (cut_first, True)
    assert cut_test_name(second)[0] != cut_first
    assert cut_test_name(cut_first) == (cut_first, False)  # a cut name is itself a valid name
    assert cut_test_name("short") == ("short", False)


@pytest.mark.parametrize("bad", [
    "a\u202eb", "a\u2066b", "a\u200eb", "a\u061cb", "a\u200bb", "a\u2060b", "a\ufeffb",
    "a\nb", "\x00", "", "x" * 513, "\U0001f600" * 300,  # 300 emoji: 1,200 bytes
])
def test_job_run_and_payload_names_refuse_bidi_zero_width_controls_and_long_bytes(
        bad: str) -> None:
    assert name_problem(bad) is not None


def test_every_url_built_from_valid_names_fits_the_request_line() -> None:
    assert name_problem("\U0001f600" * (NAME_MAX_BYTES // 4)) is None
    assert longest_upload_line() <= REQUEST_LINE_LIMIT


@pytest.mark.parametrize(("name", "ok"), [
    ("junit.xml", True), ("artifacts/junit_e2e.xml", True), ("/abs/out/junit.xml", True),
    ("a\\b.xml", False), ("a\u202eb.xml", False), ("a\nb.xml", False), ("a\x00b", False),
    ("x" * 3000, False),
])
def test_filenames(name: str, ok: bool) -> None:
    assert (filename_problem(name) is None) is ok


def test_a_30k_classname_is_stored_cut_and_counted_and_can_be_loosened(api: ApiClient) -> None:
    api.put(RUN, json={"status": "success"})
    long_class = "c" * 30_000
    xml = (f'<testsuite name="s"><testcase classname="{long_class}" name="t"/>'
           '<testcase name="short"/></testsuite>').encode()
    response = api.post(f"{RUN}/junit", data=xml, headers={"Content-Type": "application/xml"})
    assert response.status_code == 201, response.json
    assert response.json["names_cut"] == 1
    names = {t["name"] for t in api.get(f"{RUN}/tests").json["items"]}
    expected = cut_test_name(f"{long_class}.t")[0]
    assert names == {expected, "short"}
    # loosen's schema takes every stored name: without a baseline it is a 404, never a 422.
    loosen = api.post("/jobs/j/baseline/loosen", json={
        "tests": [{"suite": "s", "name": expected}], "reason": "long names are real"})
    assert loosen.status_code != 422, loosen.json


def test_json_results_cut_long_names_too(api: ApiClient) -> None:
    response = api.put(RUN, json={"status": "success", "tests": [
        {"name": "n" * 5000, "suite": "s" * 5000, "status": "passed"}]})
    assert response.status_code == 201, response.json
    (item,) = api.get(f"{RUN}/tests").json["items"]
    assert len(item["name"]) == len(item["suite"]) == TEST_NAME_MAX


@pytest.mark.parametrize("filename", ["a\nb.xml", "x" * 3000, "a\x00.xml", "a\\b.xml"])
def test_a_bad_filename_is_422(api: ApiClient, filename: str) -> None:
    api.put(RUN, json={"status": "success"})
    response = api.post(f"{RUN}/junit?filename={quote(filename)}",
                        data=junit_xml([("a", "passed")]),
                        headers={"Content-Type": "application/xml"})
    assert response.status_code == 422, response.json
    assert "filename" in response.json["error"]["details"]


@pytest.mark.parametrize(("path", "body"), [
    ("/jobs/a\u202eb", {}),
    ("/jobs/a\u200bb/runs/1", {"status": "success"}),
    ("/payloads/" + "\U0001f600" * 512, {}),
    (RUN, {"status": "success", "payload": "p\u2067"}),
    (RUN, {"status": "success", "url": "https://ci/\x1b[31m"}),
    (RUN, {"status": "success", "metadata": {"k": "v\r\nX-Injected: 1"}}),
    ("/jobs/j", {"expected_runs": 5.5}),
    ("/payloads/p", {"expected": {"j": 2.5}}),
    (RUN, {"status": "success", "started_at": "2026-01-02T00:00:00Z",
           "finished_at": "2026-01-01T00:00:00Z"}),
])
def test_names_and_fields_are_refused_with_422(api: ApiClient, path: str,
                                               body: dict[str, object]) -> None:
    response = api.put(quote(path), json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "invalid"
