"""The e2e tests use the session-wide fixtures of tests/conftest.py (a trained model, a churn service), and
these: a headless Chromium (Debian's, driven by Playwright), a page that fails its test on any console
error, and one real marketing per module (its tests use customer ids of their own)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.helpers import Gunicorn, Marketing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def marketing(churn: Gunicorn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marketing]:
    with Marketing(tmp_path_factory.mktemp("marketing"), churn.url) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    # A page's own error status (the re-rendered invalid form, a 404 page) is deliberate; any other console
    # error (a CSP violation, a missing asset) is a defect a marketer would see as a broken page.
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not ("status of" in msg.text and msg.location["url"] == page.url)
            else None)
    yield page
    context.close()
    assert errors == [], f"browser console errors (CSP violations show here): {errors}"


