"""Every page of :data:`tests.ui.pages.PAGES` in a real headless Chromium on the demo data
and a live server: the key content is there, charts are drawn, nothing failed, and axe-core
finds no serious or critical accessibility violation. Also: signing in and out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.demo import DemoSummary
from tests.live_server import LiveServer
from tests.ui.browser import (
    axe_violations,
    console_errors,
    failed_requests,
    full_screenshot,
    submit,
)
from tests.ui.conftest import sign_in
from tests.ui.pages import PAGES, PageCheck

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("check", PAGES, ids=[check.name for check in PAGES])
def test_the_page_works_in_a_browser(check: PageCheck, signed_in: Any,
                                     demo_server: tuple[LiveServer, DemoSummary],
                                     screenshots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, demo = demo_server
    console_errors(signed_in)  # drop what earlier pages logged
    signed_in.get(server.url + check.path(demo))
    assert "/ui/login" not in signed_in.current_url, "the session did not hold"
    body = signed_in.find_element(By.TAG_NAME, "main").text
    for text in check.texts(demo):
        assert text in body, f"{text!r} is not on {check.name}"
    if check.chart:
        WebDriverWait(signed_in, 10).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".chart[data-drawn=true] canvas"))
    assert failed_requests(signed_in) == []
    assert console_errors(signed_in) == []
    assert axe_violations(signed_in) == []
    full_screenshot(signed_in, screenshots / f"{check.name}.png")


def test_signing_in_and_out(demo_server: tuple[LiveServer, DemoSummary]) -> None:
    from selenium.webdriver.common.by import By

    from tests.ui.browser import new_driver

    server, demo = demo_server
    driver = new_driver()
    try:
        driver.get(f"{server.url}/ui/")  # not signed in: sent to the form, coming back after
        assert driver.current_url.startswith(f"{server.url}/ui/login?next=")
        assert axe_violations(driver) == []
        sign_in(driver, server.url, "fg_not-a-token-at-all-but-long-enough")
        assert "not valid" in driver.find_element(By.TAG_NAME, "main").text
        assert "fg_not-a-token" not in driver.page_source  # never shown back
        refused = console_errors(driver)  # the form's answer is a 401, which the console notes
        assert len(refused) == 1 and "/ui/login" in refused[0] and "401" in refused[0], refused
        driver.get(f"{server.url}/ui/login?next=%2Fui%2F")
        driver.find_element(By.ID, "token").send_keys(demo.token)
        submit(driver, driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))
        assert driver.current_url == f"{server.url}/ui/"
        assert "signed in (admin)" in driver.find_element(By.TAG_NAME, "header").text
        assert demo.token not in driver.page_source and demo.token not in driver.current_url
        cookie = driver.get_cookie("flakegate_session")
        assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        submit(driver, driver.find_element(By.CSS_SELECTOR, "header form button[type=submit]"))
        assert driver.current_url.startswith(f"{server.url}/ui/login")
        driver.get(f"{server.url}/ui/")
        assert driver.current_url.startswith(f"{server.url}/ui/login?next=")
        assert console_errors(driver) == []
    finally:
        driver.quit()
