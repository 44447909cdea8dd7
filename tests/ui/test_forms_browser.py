"""The admin forms in a real browser: what an admin creates from a form shows up in the
lists (the breakage on the timeline too), through the audited services."""

from __future__ import annotations

from typing import Any

import pytest

from api.demo import DemoSummary
from tests.live_server import LiveServer
from tests.ui.browser import axe_violations, console_errors, failed_requests, submit

pytestmark = pytest.mark.slow


def test_a_pattern_created_from_the_form_shows_up_in_the_list(
        signed_in: Any, demo_server: tuple[LiveServer, DemoSummary]) -> None:
    from selenium.webdriver.common.by import By

    server, _demo = demo_server
    console_errors(signed_in)
    signed_in.get(f"{server.url}/ui/patterns")
    expression = "etcdserver: request timed out <from the form>"
    signed_in.find_element(By.ID, "expression").send_keys(expression)
    signed_in.find_element(By.ID, "tags").send_keys("infra, etcd")
    signed_in.find_element(By.ID, "reason").send_keys("seen in three payloads")
    submit(signed_in,
           signed_in.find_element(By.CSS_SELECTOR, "form[action='/ui/patterns'] button"))
    assert signed_in.current_url.startswith(f"{server.url}/ui/patterns#pattern-")
    row_id = signed_in.current_url.rsplit("#", 1)[1]
    row = signed_in.find_element(By.ID, row_id)
    assert expression in row.text and "etcd" in row.text  # escaped, shown as written
    assert failed_requests(signed_in) == [] and console_errors(signed_in) == []
    submit(signed_in, row.find_element(By.CSS_SELECTOR, "button"))  # and retired again
    assert "retired" in signed_in.find_element(By.ID, row_id).text


def test_a_breakage_declared_from_the_form_is_on_the_timeline(
        signed_in: Any, demo_server: tuple[LiveServer, DemoSummary]) -> None:
    from selenium.webdriver.common.by import By

    server, demo = demo_server
    signed_in.get(f"{server.url}/ui/breakages")
    signed_in.find_element(By.ID, "cause").send_keys("payload 4.19.0-0.nightly-x broke DNS")
    signed_in.find_element(By.ID, "jobs").send_keys(demo.jobs[0])
    submit(signed_in,
           signed_in.find_element(By.CSS_SELECTOR, "form[action='/ui/breakages'] button"))
    assert "#breakage-" in signed_in.current_url
    assert signed_in.find_elements(By.CSS_SELECTOR, ".timeline-row svg rect")
    assert "broke DNS" in signed_in.find_element(By.ID, "timeline").find_element(
        By.XPATH, "..").text
    assert axe_violations(signed_in) == []
    breakage = signed_in.current_url.rsplit("#", 1)[1]
    form = signed_in.find_element(By.ID, breakage).find_element(By.TAG_NAME, "form")
    form.find_element(By.NAME, "resolution").send_keys("payload 4.19.0-0.nightly-y")
    submit(signed_in, form.find_element(By.TAG_NAME, "button"))
    assert "nightly-y" in signed_in.find_element(By.ID, breakage).text
