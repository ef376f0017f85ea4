"""``/docs`` in a real headless Chromium: Swagger UI lists the served operations and calls one.

The demo service runs in-process (with a Redis of its own, so its greeting and
visit counts are this test's); Chromium is driven through Selenium with the
Debian packages' browser and driver (``scripts/ensure-browser.sh`` installs
them), so nothing is downloaded. Screenshots are kept in the test's
``tmp_path`` and their paths printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from greeter_demo.service import build
from lbtoolkit.testing import open_service
from tests.examples.examples_support import DEMO_ON_FREE_PORTS
from tests.support.servers import PrivateRedis

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Bounds of every wait on the page; the page itself loads nothing from the network.
PAGE_TIMEOUT = 30.0
OPERATIONS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _demo_environ(redis_addr: str) -> dict[str, str]:
    return {
        **DEMO_ON_FREE_PORTS,
        "DEMO_CACHE_ADDR": redis_addr,
    }


@contextmanager
def _chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[webdriver.Chrome]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not installed: the /docs browser test needs Chromium "
            "and its WebDriver; run scripts/ensure-browser.sh (Debian packages chromium "
            "and chromium-driver)",
            pytrace=False,
        )
    # The driver's path is given, so Selenium Manager is not run; were it run, offline.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # The page's console errors are read at the end: a script that failed is a broken page.
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1400",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(PAGE_TIMEOUT)
        yield driver
    finally:
        driver.quit()


def _documented_operations(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (verb.upper(), path, f"operations-{operation['tags'][0]}-{operation['operationId']}")
        for path, item in document["paths"].items()
        for verb, operation in item.items()
        if verb in OPERATIONS
    }


def _listed_operations(driver: webdriver.Chrome) -> set[tuple[str, str, str]]:
    listed = set()
    for block in driver.find_elements(By.CSS_SELECTOR, ".opblock"):
        method = block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text
        path = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute(
            "data-path"
        )
        listed.add((method, path or "", block.get_attribute("id") or ""))
    return listed


def _screenshot(driver: webdriver.Chrome, path: Path) -> None:
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    print(f"screenshot: {path}")  # noqa: T201 - where to look at the page


def _drive_the_page(
    driver: webdriver.Chrome, base: str, document: dict[str, Any], name: str, out: Path
) -> dict[str, Any]:
    """Blocking: what the page listed, and what "Try it out" of SayHello showed."""
    wait = WebDriverWait(driver, PAGE_TIMEOUT)
    expected = _documented_operations(document)
    driver.get(f"{base}/docs")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(expected))
    seen: dict[str, Any] = {
        "title": driver.find_element(By.CSS_SELECTOR, ".info .title").text,
        "operations": _listed_operations(driver),
    }
    _screenshot(driver, out / "docs-operations.png")

    block_id = "operations-Greeter-Greeter_SayHello"
    block = driver.find_element(By.ID, block_id)
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    try_it = wait.until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, f"#{block_id} .try-out__btn"))
    )
    try_it.click()
    field: WebElement = wait.until(
        expected_conditions.visibility_of_element_located(
            (By.CSS_SELECTOR, f'#{block_id} tr[data-param-name="name"] input')
        )
    )
    field.send_keys(name)
    driver.find_element(By.CSS_SELECTOR, f"#{block_id} .btn.execute").click()
    live = f"#{block_id} .live-responses-table .response"
    status = wait.until(
        expected_conditions.visibility_of_element_located(
            (By.CSS_SELECTOR, f"{live} .response-col_status")
        )
    )
    body = driver.find_element(By.CSS_SELECTOR, f"{live} .response-col_description pre")
    seen["request_url"] = driver.find_element(By.CSS_SELECTOR, f"#{block_id} .request-url pre").text
    seen["status"] = status.text.strip()
    seen["body"] = body.text
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", status)
    _screenshot(driver, out / "docs-try-it-out.png")
    log: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    seen["console_errors"] = [e["message"] for e in log if e.get("level") == "SEVERE"]
    return seen


async def test_docs_page_lists_the_operations_and_calls_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"browser-{uuid.uuid4().hex[:8]}"
    with PrivateRedis() as redis, _chromium(monkeypatch) as driver:
        async with open_service(build(environ=_demo_environ(redis.addr), argv=[])) as app:
            base = f"http://127.0.0.1:{app.server.http.port}"
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                document = (await client.get("/openapi.json")).json()
            # Selenium blocks: the page is driven from a thread while the loop serves it.
            seen = await asyncio.to_thread(_drive_the_page, driver, base, document, name, tmp_path)

    assert seen["title"].startswith(document["info"]["title"])
    assert seen["operations"] == _documented_operations(document)
    assert seen["operations"] == {
        ("GET", "/v1/hello/{name}", "operations-Greeter-Greeter_SayHello"),
        ("POST", "/v1/greeting", "operations-Greeter-Greeter_SetGreeting"),
    }
    assert seen["request_url"] == f"{base}/v1/hello/{name}"
    assert seen["status"] == "200"
    # The body as Swagger UI shows it: the JSON the service answered, pretty-printed.
    assert json.loads(seen["body"]) == {"message": f"hello, {name}!", "visits": "1"}
    assert seen["console_errors"] == []
