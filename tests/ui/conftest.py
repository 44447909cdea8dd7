"""A live server on the demo data and a headless Chromium signed in to it, shared by the
browser tests of one session (loading the demo and starting a browser take seconds)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.demo import DemoSummary, load_demo
from api.store import open_store
from tests.conftest import ADMIN_TOKEN
from tests.live_server import LiveServer
from tests.ui.browser import new_driver, submit


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer,
                                                                         DemoSummary]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'demo.db'}"
    store = open_store(url)
    try:
        store.migrate()
        demo = load_demo(store)
    finally:
        store.close()
    server = LiveServer(url, ADMIN_TOKEN, workers=2).start()
    try:
        yield server, demo
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    driver = new_driver()
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: Any, base_url: str, token: str) -> None:
    """Sign in through the form, as a person does."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/ui/login")
    driver.find_element(By.ID, "token").send_keys(token)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))


@pytest.fixture(scope="session")
def signed_in(browser: Any, demo_server: tuple[LiveServer, DemoSummary]) -> Any:
    server, demo = demo_server
    sign_in(browser, server.url, demo.token)
    return browser


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where page screenshots go: FLAKEGATE_SCREENSHOTS (docs/screenshots refreshes the
    README's), else a temporary folder."""
    chosen = os.environ.get("FLAKEGATE_SCREENSHOTS")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
