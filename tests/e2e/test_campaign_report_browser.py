"""DESIGN §14 in headless Chromium: the campaign page's experiment report (words, the Qini curve and the lift at each
look as inline SVG, nothing blocked by the CSP), and the new-campaign form's plan (its script asks the server as
the file and the holdout change), with the warning a small list earns."""
from __future__ import annotations

import random
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.helpers import SCREENSHOTS, Marketing, wait_for
from tests.integration.campaign_files import finished, telco_csv, upload


def post_outcomes(marketing: Marketing, campaign_id: int, lines: list[str]) -> None:
    answer = marketing.http.post(f"{marketing.url}/api/campaigns/{campaign_id}/outcomes",
                                 data="customerid,churned\n" + "\n".join(lines), headers={"Content-Type": "text/csv"},
                                 timeout=60)
    assert answer.status_code == 200, answer.text[:300]


def test_the_campaign_page_shows_the_report_in_words_and_two_pictures(page: Page, marketing: Marketing) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    status = finished(marketing, upload(marketing, telco_csv(3000, prefix="EXP"), threshold="0.3",
                                        holdout="0.5").json()["id"])
    results = marketing.http.get(f"{marketing.url}/api/campaigns/{status['id']}/results.csv", timeout=10).text.splitlines()
    rng = random.Random(3)
    lines = []
    for row in results[1:]:
        customerid, probability, _, decision = row.split(",")[:4]
        if decision in ("offer", "holdout"):
            churned = rng.random() < float(probability) * (0.5 if decision == "offer" else 1)
            lines.append(f"{customerid},{int(churned)}")
    cut = len(lines) // 3
    post_outcomes(marketing, status["id"], lines[:cut])
    posted = int(time.time())  # a look is a recorded_at stamp, whole seconds
    wait_for(lambda: int(time.time()) > posted, timeout=3, what="the next second")
    post_outcomes(marketing, status["id"], lines[cut:])

    page.goto(f"{marketing.url}/campaigns/{status['id']}")
    expect(page.locator("#qini-chart")).to_be_visible()
    expect(page.locator("#lift-chart")).to_be_visible()
    assert page.locator("#qini-chart polyline").count() == 2 and page.locator("#lift-chart g.look").count() == 2
    expect(page.locator("#lift-words")).to_contain_text("more customers in 100 (95 % interval")
    expect(page.locator("#lift-words")).to_contain_text("an interval that stays valid however often you look")
    expect(page.locator("#srm-words")).to_contain_text("The split went as designed")
    expect(page.locator("#cuped-words")).to_contain_text("CUPED")
    expect(page.locator("#qini-words")).to_contain_text("Qini coefficient")
    page.locator("#experiment").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "campaign-experiment.png", full_page=True)


def test_the_new_campaign_form_shows_the_plan_and_warns_on_a_small_list(page: Page, marketing: Marketing,
                                                                      tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    small = tmp_path / "small-list.csv"
    small.write_bytes(telco_csv(400, prefix="PLANWEB"))
    page.goto(f"{marketing.url}/campaigns")
    expect(page.locator("#plan")).to_be_hidden()
    page.get_by_label("Name").fill("Small list")
    page.get_by_label("Threshold (0–1)").fill("0.3")
    page.locator("input[type=file][name=file]").set_input_files(str(small))
    expect(page.locator("#plan-mde")).to_be_visible(timeout=30_000)
    expect(page.locator("#plan-summary")).to_contain_text("400 customers in the list")
    expect(page.locator("#plan-warning")).to_contain_text("more than 5 points")
    first = page.locator("#plan-mde").inner_text()
    page.get_by_label("Holdout share").fill("0.5")
    page.get_by_label("Holdout share").dispatch_event("change")
    expect(page.locator("#plan-mde")).not_to_have_text(first, timeout=30_000)  # a larger holdout: a smaller MDE
    assert float(page.locator("#plan-mde").inner_text().split()[0]) < float(first.split()[0])
    expect(page.get_by_label("Explore share (0–0.5)")).to_be_visible()
    assert page.locator("select[name=mode] option[value=uplift]").count() == 1
    page.screenshot(path=SCREENSHOTS / "campaign-plan.png", full_page=True)
