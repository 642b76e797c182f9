"""A marketer runs a campaign in headless Chromium: signs in through the form, picks the file in the file chooser,
watches the progress bar (the polling script from static/) reach done, reads the report, downloads rejects.csv,
records outcomes."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Browser, Page, StorageState, expect

from tests.e2e.sign_in import sign_in
from tests.helpers import SCREENSHOTS, Marketing
from tests.integration.campaign_files import telco_csv


def test_a_campaign_from_sign_in_and_file_chooser_to_uplift_report(fresh_page: Page, marketing: Marketing,
                                                                    tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    customers = tmp_path / "may-customers.csv"
    customers.write_bytes(telco_csv(6000, prefix="WEB", extra={4: {"Contract": "fortnightly"}}))
    page = fresh_page
    sign_in(page, marketing.url, "/")  # the form a marketer meets first, not a cookie made by the test
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_label("Name").fill("May retention")
    with page.expect_file_chooser() as chooser:
        page.locator("input[type=file][name=file]").click()
    chooser.value.set_files(str(customers))
    page.get_by_label("Budget (most offers)").fill("400")
    page.get_by_role("button", name="Start campaign").click()

    expect(page.get_by_role("heading", name="Campaign “May retention”")).to_be_visible()
    expect(page.locator("#created-by")).to_have_text("admin")  # the signed-in user, kept with the campaign
    page.screenshot(path=SCREENSHOTS / "campaign-progress.png", full_page=True)
    expect(page.locator("#histogram")).to_be_visible(timeout=60_000)  # the script reloads the page when done
    expect(page.locator("#campaign-status")).to_have_text("done")
    expect(page.locator("[data-count=rejected]")).to_have_text("1")
    offers = int(page.locator("[data-count=offers]").inner_text())
    holdout = int(page.locator("[data-count=holdout]").inner_text())
    assert 0 < offers and offers + holdout <= 400
    assert page.locator("#histogram rect.hist-bar").count() == 20
    expect(page.locator("#threshold-mark")).to_be_attached()
    page.screenshot(path=SCREENSHOTS / "campaign-report.png", full_page=True)

    with page.expect_download() as download:
        page.locator("#rejects-csv").click()
    rejects = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(r["line"], r["field"]) for r in rejects] == [("6", "contract")]

    with page.expect_download() as download:
        page.locator("#results-csv").click()
    results = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    outcomes = tmp_path / "outcomes.csv"
    # A quarter of the offered customers left, half of the control group: the offers kept about a quarter.
    outcomes.write_text("customerid,churned\n" + "".join(
        f"{r['customerid']},{'yes' if i % (2 if r['decision'] == 'holdout' else 4) == 0 else 'no'}\n"
        for i, r in enumerate(results) if r["decision"] in ("offer", "holdout")))
    page.locator("input[type=file][name=file]").set_input_files(str(outcomes))
    page.get_by_role("button", name="Upload outcomes").click()
    expect(page.locator("#uplift-report")).to_be_visible()
    expect(page.locator("#outcome-uploads td.created-by")).to_have_text(["admin"])
    kept = float(page.locator("#customers-kept").inner_text().removeprefix("about "))
    assert 0.1 * offers < kept < 0.4 * offers
    page.screenshot(path=SCREENSHOTS / "campaign-uplift.png", full_page=True)


def test_with_scripts_off_the_campaign_page_reloads_itself_until_done(browser: Browser, marketing: Marketing,
                                                                     signed_in: StorageState) -> None:
    context = browser.new_context(java_script_enabled=False, storage_state=signed_in)
    page = context.new_page()
    try:
        body = telco_csv(20_000, prefix="NOJS")  # takes seconds: long enough to see the page reload
        created = marketing.http.post(f"{marketing.url}/api/campaigns", files={"file": ("c.csv", body, "text/csv")},
                                      data={"name": "no scripts"}, timeout=60).json()
        page.goto(f"{marketing.url}/campaigns/{created['id']}")
        assert page.locator("#campaign-status").inner_text() != "done", "too fast to see the page reload"
        expect(page.locator("#campaign-status")).to_have_text("done", timeout=60_000)
        expect(page.locator("#histogram")).to_be_visible()
    finally:
        context.close()
