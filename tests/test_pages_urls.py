from __future__ import annotations

import re

from api.pages_urls import job_page, key_for_test, log_page, page_for_test, payload_page


def test_test_key_is_stable_url_safe_and_distinct() -> None:
    long_name = "x" * 4096 + " / ? # % &"
    key = key_for_test("suite/a", long_name)
    assert key == key_for_test("suite/a", long_name)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", key)
    assert key_for_test("a", "b\0c") != key_for_test("a\0b", "c")
    assert key_for_test("s", "n") != key_for_test("s", "n ")


def test_page_urls_keep_every_name_one_segment() -> None:
    assert payload_page("4.18.0-0.nightly/x", "https://gate.example/") == \
        "https://gate.example/ui/payloads/4.18.0-0.nightly%2Fx"
    assert job_page("a b") == "/ui/jobs/a%20b"
    assert page_for_test("j", "s", "n").startswith("/ui/jobs/j/tests/")
    assert log_page("j/k", "1", 42) == "/ui/jobs/j%2Fk/runs/1/log#L42"


def test_a_log_link_to_a_step_carries_the_line_for_the_server_too() -> None:
    assert log_page("j", "1", 42, step="e2e test") \
        == "/ui/jobs/j/runs/1/log?step=e2e%20test&line=42#L42"
    assert log_page("j", "1", step="s/t") == "/ui/jobs/j/runs/1/log?step=s%2Ft"
