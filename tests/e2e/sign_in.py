"""Signing in to marketing as a person does (DESIGN §11): through the real /login form, in Chromium or with a
`requests.Session` that keeps the cookie, as the e2e tests of the browser and of compose need it."""
from __future__ import annotations

import re

import requests
from playwright.sync_api import Page, expect

from tests.helpers import ADMIN_PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(page: Page, base_url: str, path: str = "/", username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Ask for `path`, get sent to the sign-in form, fill it, and land on `path`."""
    page.goto(f"{base_url}{path}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}{path}")
    expect(page.locator("#signed-in-as")).to_contain_text(username)


def form_session(base_url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> requests.Session:
    """A browser's cookie jar after posting the sign-in form (its csrf_token included): 303 to /."""
    session = requests.Session()
    token = CSRF_FIELD.search(session.get(f"{base_url}/login", timeout=10).text)
    assert token is not None, "the sign-in form carries no csrf_token"
    answer = session.post(f"{base_url}/login", data={"username": username, "password": password, "csrf_token": token[1]},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["Location"] == "/", (answer.status_code, answer.text[:500])
    return session
