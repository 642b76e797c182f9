"""The e2e tests use the session-wide fixtures of tests/conftest.py (a trained model, a churn service), and
these: a headless Chromium (Debian's, driven by Playwright), pages that fail their test on any console error
(`page` signed in to the module's marketing, `fresh_page` with no cookies at all), and one real marketing per
module (its tests use customer ids of their own), signed in to once per module through its real form."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, StorageState, sync_playwright

from tests.e2e.sign_in import sign_in
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


def watched_page(browser: Browser, **options: Any) -> Iterator[Page]:
    """A page in a context of its own; at teardown, fails the test on any console error it logged."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
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


@pytest.fixture(scope="module")
def signed_in(browser: Browser, marketing: Marketing) -> StorageState:
    """The module's one sign-in to its marketing, through the real form: the cookies each `page` starts with."""
    context = browser.new_context()
    try:
        sign_in(context.new_page(), marketing.url)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, signed_in: StorageState) -> Iterator[Page]:
    """A page of a marketer signed in to the module's marketing (as its admin)."""
    yield from watched_page(browser, storage_state=signed_in)


@pytest.fixture
def fresh_page(browser: Browser) -> Iterator[Page]:
    """A page with no cookies: anonymous to every server, for a test that signs in itself."""
    yield from watched_page(browser)
