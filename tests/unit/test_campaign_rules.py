"""Campaign targeting and the uplift report, against hand computations on small known tables."""
from __future__ import annotations

import math

import pytest

from marketing_service.campaigns.outcomes import OutcomeError, parse_outcomes, uplift
from marketing_service.campaigns.settings import CampaignSettings, InvalidSettings, parse_settings
from marketing_service.campaigns.targeting import DECISIONS, ScoredRow, decide, in_holdout, propensity

DEFAULTS = CampaignSettings()


def row(customerid: str, p: float, monthly: float = 50.0, settings: CampaignSettings = DEFAULTS) -> ScoredRow:
    return ScoredRow(customerid, f"{customerid}@example.com", p, p >= 0.5, settings.expected_value(p, monthly))


def test_each_customer_gets_one_reason_in_the_documented_order() -> None:
    settings = CampaignSettings(threshold=0.4, max_offers=2, holdout=0.0)
    rows = [row("low", 0.1), row("sup", 0.9), row("cool", 0.8), row("a", 0.7, 90), row("b", 0.6, 80), row("c", 0.5, 10)]
    decisions = decide(1, settings, rows, {"sup": "suppressed", "cool": "cooldown", "low": "cooldown"})
    assert decisions == {"low": "below_target", "sup": "suppressed", "cool": "cooldown", "a": "offer", "b": "offer",
                         "c": "over_budget"}


def test_the_budget_goes_to_the_highest_expected_value_not_the_highest_probability() -> None:
    settings = CampaignSettings(mode="expected_value", max_offers=1, holdout=0.0)
    rich, likely = row("rich", 0.55, 110.0, settings), row("likely", 0.95, 20.0, settings)
    assert rich.expected_value > likely.expected_value > 0  # 0.55*0.3*110*12-10 = 207.8; 0.95*0.3*20*12-10 = 58.4
    assert decide(1, settings, [likely, rich], {}) == {"rich": "offer", "likely": "over_budget"}


def test_expected_value_mode_skips_customers_an_offer_would_lose_money_on() -> None:
    settings = CampaignSettings(mode="expected_value", offer_cost=10.0)
    cheap = row("cheap", 0.2, 10.0, settings)  # 0.2 * 0.3 * 10 * 12 - 10 = -2.8
    assert cheap.expected_value == pytest.approx(-2.8)
    assert decide(1, settings, [cheap], {}) == {"cheap": "below_target"}


def test_the_holdout_is_a_stable_share_drawn_by_hash() -> None:
    ids = [f"C{i}" for i in range(4000)]
    picked = {c for c in ids if in_holdout(7, c, 0.1)}
    assert picked == {c for c in ids if in_holdout(7, c, 0.1)}, "a rerun must pick the same people"
    assert 0.08 < len(picked) / len(ids) < 0.12
    assert picked != {c for c in ids if in_holdout(8, c, 0.1)}, "another campaign draws another group"
    settings = CampaignSettings(threshold=0.0, holdout=0.1)
    decisions = decide(7, settings, [row(c, 0.9) for c in ids], {})
    assert {c for c, d in decisions.items() if d == "holdout"} == picked


def test_uplift_matches_a_hand_computation() -> None:
    # Offered: 20 of 200 churned (10 %); holdout: 10 of 40 churned (25 %).
    report = uplift(offered=(20, 200), holdout=(10, 40))
    assert report is not None
    assert report["difference"] == pytest.approx(0.15)
    half = 1.96 * math.sqrt(0.10 * 0.90 / 200 + 0.25 * 0.75 / 40)  # 0.1400...
    assert report["ci95"] == pytest.approx([0.15 - half, 0.15 + half], abs=1e-4)
    assert report["customers_kept"] == pytest.approx(30.0)
    assert uplift(offered=(3, 10), holdout=(0, 0)) is None


def test_outcomes_accept_yes_no_and_ones_and_zeros_and_list_bad_lines() -> None:
    pairs, bad, rejected = parse_outcomes("\ufeffCustomerID,Churned\nA,yes\nB,0\nC,maybe\n,1\nD,TRUE\n")
    assert pairs == [(1, "A"), (0, "B"), (1, "D")]
    assert [b["line"] for b in bad] == [4, 5]
    assert rejected == 2


def test_settings_name_every_bad_field() -> None:
    with pytest.raises(InvalidSettings) as caught:
        parse_settings({"name": "", "mode": "random", "threshold": "1.5", "max_offers": "2.5", "holdout": "x"})
    assert set(caught.value.errors) == {"name", "mode", "threshold", "max_offers", "holdout"}
    name, settings = parse_settings({"name": " May ", "max_offers": "100", "threshold": ""})
    assert (name, settings.max_offers, settings.threshold) == ("May", 100, None)


def test_outcomes_with_old_mac_line_ends_are_read_and_an_unreadable_file_is_refused() -> None:
    """Found by fuzzing: a bare carriage return made the csv module raise, and the upload answered 500."""
    assert parse_outcomes("customerid,churned\rA,yes\rB,no\r") == ([(1, "A"), (0, "B")], [], 0)
    with pytest.raises(OutcomeError, match="not a readable CSV"):
        parse_outcomes("customerid,churned\nA," + "x" * 200_000 + "\n")  # past the csv module's field limit


def test_the_propensity_of_each_campaign_decision() -> None:
    """DESIGN §13: targeted customers (offered or held out) had 1 − holdout; nobody else had a chance."""
    settings = CampaignSettings(holdout=0.2)
    assert {d: propensity(d, settings) for d in DECISIONS} == {
        "offer": 0.8, "holdout": 0.8, "below_target": 0.0, "suppressed": 0.0, "cooldown": 0.0, "over_budget": 0.0}


def test_observed_at_takes_z_or_an_offset_and_refuses_a_bare_time() -> None:
    from marketing_service.customers.outcome_input import observed_at

    assert observed_at("2026-05-01T12:00:00Z", "now") == "2026-05-01T12:00:00Z"
    assert observed_at("2026-05-01T14:30:00+02:00", "now") == "2026-05-01T12:30:00Z"
    assert observed_at(" ", "now") == "now"
    for bad in ("2026-05-01T12:00:00", "yesterday", "0001-01-01T00:00:00+05:00"):
        with pytest.raises(ValueError):
            observed_at(bad, "now")
