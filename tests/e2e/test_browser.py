"""A marketer in headless Chromium: sign in, fill the form, read the decision and the offer, fix a bad field."""
from __future__ import annotations

import re
from pathlib import Path

import requests
from playwright.sync_api import Page, expect

from tests.e2e.sign_in import form_session, sign_in
from tests.helpers import ADMIN_PASSWORD, SCREENSHOTS, Gunicorn, Marketing
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER


def stored(marketing: Marketing, customerid: str) -> bool:
    listed = marketing.http.get(f"{marketing.url}/api/customers?limit=1000", timeout=5).json()["customers"]
    return any(c["customerid"] == customerid for c in listed)


def fill_form(page: Page, record: dict) -> None:
    for name, value in record.items():
        locator = page.locator(f"[name='{name}']")
        if locator.evaluate("el => el.tagName") == "SELECT":
            locator.select_option(str(value))
        else:
            locator.fill(str(value))


def test_an_anonymous_visit_signs_in_through_the_form_and_signs_out(fresh_page: Page, marketing: Marketing) -> None:
    page = fresh_page
    page.goto(marketing.url + "/")
    expect(page).to_have_url(f"{marketing.url}/login?next=/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#signed-in-as")).to_have_count(0)
    page.fill("#username", "admin")
    page.fill("#password", "not-the-admin-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("do not match")
    expect(page.locator("#username")).to_have_value("admin")  # the form comes back with the name kept
    page.screenshot(path=SCREENSHOTS / "sign-in-refused.png", full_page=True)
    page.fill("#password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{marketing.url}/")
    expect(page.locator("#signed-in-as")).to_have_text("admin (admin)")
    expect(page.get_by_role("heading", name="Check a customer")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{marketing.url}/login")
    page.goto(marketing.url + "/customers")  # signed out for good: the pages ask to sign in again
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_marketer_scores_a_likely_churner_and_sees_the_offer(page: Page, marketing: Marketing) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(marketing.url + "/")
    expect(page.get_by_role("heading", name="Check a customer")).to_be_visible()
    expect(page.get_by_label("Internet service")).to_be_visible()
    fill_form(page, dict(LIKELY_CHURNER, customerid="WEB-1", name="Zoë <b>Brown</b>", email="zoe@example.com"))
    page.screenshot(path=SCREENSHOTS / "form.png", full_page=True)
    page.get_by_role("button", name="Score customer").click()
    expect(page.get_by_role("heading", name="Likely to churn")).to_be_visible()
    probability = page.locator("#probability").inner_text()
    assert probability.endswith("%") and 50 < float(probability[:-1]) <= 100
    expect(page.locator("#offer")).to_contain_text("Offer #")
    expect(page.locator("#reasons")).to_contain_text("month-to-month contract")
    # The name is shown as typed, never interpreted as markup.
    expect(page.locator(".lead")).to_contain_text("Zoë <b>Brown</b>")
    assert page.locator(".lead b").count() == 0
    page.reload()
    expect(page.locator("#offer-status")).to_have_text("sent", timeout=10_000)
    page.screenshot(path=SCREENSHOTS / "result.png", full_page=True)
    page.locator("#offer a").click()
    expect(page.locator("#body")).to_contain_text("Dear Zoë <b>Brown</b>,")
    page.screenshot(path=SCREENSHOTS / "offer.png", full_page=True)


def test_loyal_customer_gets_no_offer_on_the_page(page: Page, marketing: Marketing) -> None:
    page.goto(marketing.url + "/")
    fill_form(page, dict(LOYAL_CUSTOMER, customerid="WEB-2", name="Lee", email="lee@example.com"))
    page.get_by_role("button", name="Score customer").click()
    expect(page.get_by_role("heading", name="Likely to stay")).to_be_visible()
    expect(page.locator("#offer-status")).to_contain_text("No offer")


def test_bad_value_is_marked_next_to_its_field_and_input_is_kept(page: Page, marketing: Marketing) -> None:
    page.goto(marketing.url + "/")
    fill_form(page, dict(LIKELY_CHURNER, customerid="WEB-3", name="Kim", email="kim@example.com", tenure="-4"))
    page.get_by_role("button", name="Score customer").click()
    expect(page.locator("#tenure-error")).to_contain_text("between 0 and 1200")
    expect(page.locator("#tenure")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#customerid")).to_have_value("WEB-3")
    expect(page.locator("#contract")).to_have_value(LIKELY_CHURNER["contract"])
    page.screenshot(path=SCREENSHOTS / "form-error.png", full_page=True)
    assert not stored(marketing, "WEB-3")
    page.locator("#tenure").fill("4")
    page.get_by_role("button", name="Score customer").click()
    expect(page.get_by_role("heading", name="Likely to churn")).to_be_visible()


def test_expired_form_comes_back_with_the_entries_kept(page: Page, marketing: Marketing) -> None:
    page.goto(marketing.url + "/")
    fill_form(page, dict(LIKELY_CHURNER, customerid="WEB-4", name="Ada", email="ada@example.com"))
    # Signing in again in another tab starts a new session: the security token of this tab's form is stale.
    other_tab = page.context.new_page()
    other_tab.goto(marketing.url + "/login")
    other_tab.fill("#username", "admin")
    other_tab.fill("#password", ADMIN_PASSWORD)
    other_tab.get_by_role("button", name="Sign in").click()
    expect(other_tab).to_have_url(marketing.url + "/")
    other_tab.close()
    page.get_by_role("button", name="Score customer").click()
    expect(page.locator("#notice")).to_contain_text("nothing was saved")
    expect(page.locator("#customerid")).to_have_value("WEB-4")
    expect(page.locator("#contract")).to_have_value(LIKELY_CHURNER["contract"])
    assert not stored(marketing, "WEB-4")
    page.get_by_role("button", name="Score customer").click()
    expect(page.get_by_role("heading", name="Likely to churn")).to_be_visible()
    expect(page.locator(".lead")).to_contain_text("Ada")
    assert stored(marketing, "WEB-4")


def test_dead_link_shows_a_page_with_a_way_back(page: Page, marketing: Marketing) -> None:
    response = page.goto(marketing.url + "/customers/NO-SUCH-CUSTOMER")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("#error-message")).to_contain_text("No customer with ID 'NO-SUCH-CUSTOMER'")
    page.screenshot(path=SCREENSHOTS / "not-found.png", full_page=True)
    page.get_by_role("link", name="Check a customer").first.click()
    expect(page.get_by_role("heading", name="Check a customer")).to_be_visible()


def test_post_without_csrf_token_is_refused(marketing: Marketing) -> None:
    form = {k: str(v) for k, v in dict(LIKELY_CHURNER, customerid="CSRF-1", email="x@example.com").items()}
    response = form_session(marketing.url).post(marketing.url + "/", data=form, timeout=5)  # signed in, no token
    assert response.status_code == 400
    assert "CSRF" in response.text
    assert not stored(marketing, "CSRF-1")


def test_every_page_sends_security_headers_and_safe_cookies(marketing: Marketing) -> None:
    browser = form_session(marketing.url)
    for path in ("/login", "/", "/customers", "/offers"):
        response = browser.get(marketing.url + path, timeout=5)
        assert response.status_code == 200 and response.url == marketing.url + path
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff" and response.headers["X-Frame-Options"] == "DENY"
    anonymous = requests.get(marketing.url + "/login", timeout=5).headers["Set-Cookie"]  # the sign-in form's session
    signed_in = browser.get(marketing.url + "/", timeout=5).headers["Set-Cookie"]  # renewed on each request
    for cookie in (anonymous, signed_in):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_model_page_shows_the_serving_model_and_drift_bars_coloured_by_status(fresh_page: Page, model_dir: Path,
                                                                             tmp_path: Path) -> None:
    """After traffic where every contract is month-to-month and tenure tripled, the Model page draws those two
    features red (alert) and the untouched ones green, beside the version churn reports."""
    import csv
    import random

    from tests.helpers import DATA

    env = {"MODEL_PATH": str(model_dir / "model.bin"), "DRIFT_WINDOW": "600", "DRIFT_MIN_RECORDS": "500"}
    page = fresh_page
    with Gunicorn("churn_service", env, workers=2) as churn, Marketing(tmp_path, churn.url) as marketing:
        sign_in(page, marketing.url, "/model")
        expect(page.locator("#drift-status")).to_have_attribute("data-status", "insufficient_data")
        with open(DATA, newline="") as f:
            rows = random.Random(5).sample(list(csv.DictReader(f)), 600)
        shifted = [{**r, "Contract": "Month-to-month", "tenure": str(3 * int(r["tenure"]))} for r in rows]
        assert requests.post(f"{churn.url}/predict/batch", json={"customers": shifted}, timeout=30).status_code == 200

        page.get_by_role("link", name="Model").click()
        served = requests.get(f"{churn.url}/model", timeout=5).json()
        expect(page.locator("#model-version")).to_have_text(served["version"])
        expect(page.locator("#test-auc")).to_have_text(f"{served['metrics']['test_auc']:.3f}")
        expect(page.locator("#drift-status")).to_have_attribute("data-status", "alert")
        for feature, status in (("contract", "alert"), ("tenure", "alert"), ("gender", "ok")):
            row = page.locator(f"tr.drift-row[data-feature='{feature}']")
            expect(row).to_have_attribute("data-status", status)
            colour = row.locator("rect.bar-fill").evaluate("el => getComputedStyle(el).fill")
            assert colour == {"alert": "rgb(198, 40, 40)", "ok": "rgb(46, 125, 50)"}[status], (feature, colour)
        tenure_bar = float(page.locator("tr.drift-row[data-feature='tenure'] rect.bar-fill").get_attribute("width"))
        gender_bar = float(page.locator("tr.drift-row[data-feature='gender'] rect.bar-fill").get_attribute("width"))
        assert tenure_bar > 10 * gender_bar
        page.screenshot(path=SCREENSHOTS / "model-drift.png", full_page=True)


def test_model_page_says_so_when_churn_is_down(fresh_page: Page, tmp_path: Path) -> None:
    from tests.helpers import free_port

    with Marketing(tmp_path, f"http://127.0.0.1:{free_port()}") as marketing:
        sign_in(fresh_page, marketing.url, "/model")
        expect(fresh_page.locator("#churn-unavailable")).to_be_visible()
