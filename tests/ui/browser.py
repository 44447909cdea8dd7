"""Headless Chromium for the pages' tests: Debian's ``chromium`` driven through its
``chromidriver`` by Selenium (no browser download), with the page checks every page passes:
no console error, no failed request, no serious or critical axe-core violation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def new_driver() -> Any:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver "
                    "(scripts/system-deps.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--lang=en-US", "--disable-extensions",
                 "--no-first-run", "--disable-background-networking"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def console_errors(driver: Any) -> list[str]:
    """The console's errors since the last call (CSP violations land here too)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry.get("level") == "SEVERE"]


def failed_requests(driver: Any) -> list[str]:
    """Requests of the current page (the document included) that failed or answered >= 400."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('navigation')"
        ".concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.responseStatus || 0, e.transferSize, e.decodedBodySize]);")
    # responseStatus 0 with nothing decoded: the request never got an answer (blocked, refused).
    return [f"{name} -> {status}" for name, status, _size, decoded in entries
            if status >= 400 or (status == 0 and not decoded)]


def _run_axe(driver: Any) -> str:
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found: str = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify("
        "[{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}])));")
    return found


def axe_violations(driver: Any, attempts: int = 3) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the current page."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    # Right after a redirect chromedriver may still hold the previous document's node ids and
    # answer "Node with given id does not belong to the document": wait for the page, retry.
    for attempt in range(attempts):
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
        try:
            found = _run_axe(driver)
            break
        except WebDriverException as err:
            if "does not belong to the document" not in str(err) or attempt == attempts - 1:
                raise
    violations: list[dict[str, Any]] = json.loads(found)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n.get("target") for n in v.get("nodes", [])][:5]}
            for v in violations if v.get("impact") in BLOCKING_IMPACTS]


def full_screenshot(driver: Any, path: Path) -> None:
    """The page (up to 2,400 px of it) as a PNG."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height), 900), 2400))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)


def submit(driver: Any, button: Any, timeout: float = 20.0) -> None:
    """Click a form's button and wait for the page it leads to (a click returns at once)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    wait = WebDriverWait(driver, timeout)
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
