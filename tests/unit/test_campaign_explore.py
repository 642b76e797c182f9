"""The `explore` share of DESIGN §14 (campaigns/targeting.py): below-target customers drawn by the holdout's hash
get the offer anyway, the same ones on a rerun, outside the budget and the holdout, never at a suppressed
address or in cooldown (such a drawn customer stays `below_target`); every drawn customer is stored as explored,
every below-target customer's propensity is the explore share (§13), and the campaign stores it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketing_service.campaigns.processing import finish
from marketing_service.campaigns.settings import CampaignSettings, InvalidSettings, parse_settings
from marketing_service.campaigns.targeting import ScoredRow, decide, hash_share, in_holdout, is_explored, propensity
from marketing_service.offers.rules import OfferRules
from marketing_service.storage.sqlite import SqliteStorage
from tests.samples import LOYAL_CUSTOMER


def row(customerid: str, p: float) -> ScoredRow:
    return ScoredRow(customerid, f"{customerid}@example.com", p, p >= 0.5, p * 0.3 * 50 * 12 - 10)


LOW = [row(f"L{i}", 0.1) for i in range(20_000)]  # all below a 0.5 threshold


def test_the_explore_share_is_close_to_the_setting_and_the_same_customers_on_a_rerun() -> None:
    settings = CampaignSettings(threshold=0.5, explore=0.2)
    decisions = decide(4, settings, LOW, {})
    explored = {c for c, d in decisions.items() if d == "offer"}
    assert set(decisions.values()) == {"offer", "below_target"}
    assert 0.19 < len(explored) / len(LOW) < 0.21
    assert explored == {c for c, d in decide(4, settings, LOW, {}).items() if d == "offer"}, "a rerun, the same people"
    assert explored == {r.customerid for r in LOW if hash_share(4, r.customerid) < 0.2}, "the holdout's hash"
    assert explored != {c for c, d in decide(5, settings, LOW, {}).items() if d == "offer"}
    assert set(decide(4, CampaignSettings(threshold=0.5), LOW[:2000], {}).values()) == {"below_target"}, "default 0"


def test_explored_offers_are_outside_the_budget_and_the_holdout() -> None:
    settings = CampaignSettings(threshold=0.5, explore=0.3, holdout=0.5, max_offers=1)
    targets = [row("T1", 0.9), row("T2", 0.8), *[row(f"T{i}", 0.7) for i in range(3, 400)]]
    decisions = decide(9, settings, [*targets, *LOW[:4000]], {})
    below = [decisions[r.customerid] for r in LOW[:4000]]
    assert set(below) == {"offer", "below_target"} and 0.27 < below.count("offer") / 4000 < 0.33
    targeted = [decisions[r.customerid] for r in targets]
    assert targeted.count("offer") + targeted.count("holdout") == 1 and targeted.count("over_budget") == len(targets) - 1


def test_a_suppressed_or_cooling_explored_customer_stays_below_target_with_the_explore_propensity() -> None:
    settings = CampaignSettings(threshold=0.5, explore=0.5)
    drawn = [r for r in LOW[:2000] if is_explored(3, settings, r)]
    undrawn = [r for r in LOW[:2000] if not is_explored(3, settings, r)]
    assert drawn and undrawn
    blocked = {r.customerid: ("suppressed" if i % 2 else "cooldown") for i, r in enumerate([*drawn, *undrawn])}
    decisions = decide(3, settings, LOW[:2000], blocked)
    assert set(decisions.values()) == {"below_target"}, "below target is checked first, drawn or not"
    assert all(propensity(decisions[r.customerid], settings, explored=True) == 0.5 for r in drawn)
    assert all(propensity(decisions[r.customerid], settings) == 0.5 for r in undrawn)
    targeted = row("T", 0.9)
    assert decide(3, settings, [targeted], {"T": "cooldown"}) == {"T": "cooldown"}, "a blocked target: as before"
    assert propensity("cooldown", settings) == 0.0


def test_the_propensity_of_every_decision_with_an_explore_share() -> None:
    settings = CampaignSettings(holdout=0.2, explore=0.3)
    assert {d: propensity(d, settings) for d in ("offer", "holdout", "below_target", "suppressed", "cooldown",
                                                 "over_budget")} == pytest.approx(
        {"offer": 0.8, "holdout": 0.8, "below_target": 0.3, "suppressed": 0.0, "cooldown": 0.0, "over_budget": 0.0})
    assert propensity("offer", settings, explored=True) == 0.3


def test_explore_is_a_named_setting_between_0_and_a_half() -> None:
    assert parse_settings({"name": "x", "explore": "0.25"})[1].explore == 0.25
    assert parse_settings({"name": "x"})[1].explore == 0.0
    for bad in ("0.6", "-0.1", "lots"):
        with pytest.raises(InvalidSettings) as caught:
            parse_settings({"name": "x", "explore": bad})
        assert list(caught.value.errors) == ["explore"]
    assert not in_holdout(1, "A", 0.0)


def test_a_campaign_stores_explored_offers_with_the_explore_propensity(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "marketing.db", 5000)
    storage.init_db()
    settings = CampaignSettings(threshold=0.5, explore=0.3, holdout=0.0)
    ids = [f"E{i}" for i in range(300)]
    suppressed = [*ids[:2], *[c for c in ids[10:] if hash_share(1, c) < 0.3][:4]]  # two targets, four drawn
    conn = storage.connect()
    with conn.transaction():
        conn.execute("INSERT INTO campaigns (id, name, status, settings, created_at, updated_at)"
                     " VALUES (1, 'explore', 'running', ?, 'now', 'now')", (json.dumps(settings.as_dict()),))
        conn.executemany("INSERT INTO campaign_rows (campaign_id, line, customerid, name, email, features, scored,"
                         " churn_probability, churn, expected_value, model_version, prediction_id)"
                         " VALUES (1, ?, ?, 'Ann', ?, ?, 1, ?, ?, 0, 'v1', ?)",
                         [(i + 2, c, f"{c.lower()}@example.com", json.dumps(LOYAL_CUSTOMER), 0.9 if i < 10 else 0.1,
                           int(i < 10), f"p-{c}") for i, c in enumerate(ids)])
        conn.executemany("INSERT INTO suppressions (email, created_at) VALUES (?, 'now')",
                         [(f"{c.lower()}@example.com",) for c in suppressed])
    assert finish(conn, 1, settings, OfferRules("retention"))
    stored = {r["customerid"]: r for r in conn.execute(
        "SELECT customerid, decision, explored, propensity, offer_id FROM campaign_rows WHERE campaign_id = 1")}
    logged = dict(conn.execute("SELECT customerid, propensity FROM decisions").fetchall())
    offered_to = {r[0] for r in conn.execute("SELECT to_addr FROM offers")}
    conn.close()
    targeted, below = ids[:10], ids[10:]
    assert all(stored[c]["decision"] == "offer" and stored[c]["explored"] == 0 and stored[c]["propensity"] == 1.0
               for c in targeted if c not in suppressed)
    assert all(stored[c]["decision"] == "suppressed" and stored[c]["propensity"] == 0.0 and stored[c]["explored"] == 0
               for c in targeted if c in suppressed)
    explored = [c for c in below if stored[c]["explored"]]
    assert explored == [c for c in below if hash_share(1, c) < 0.3], "explored = drawn, offered or not"
    assert all(stored[c]["propensity"] == pytest.approx(0.3) for c in below)
    blocked = [c for c in explored if c in suppressed]
    assert blocked and all(stored[c]["decision"] == "below_target" and stored[c]["offer_id"] is None for c in blocked)
    assert all(stored[c]["decision"] == "offer" and stored[c]["offer_id"] is not None and logged[c] == pytest.approx(0.3)
               for c in explored if c not in suppressed)
    assert {c for c in below if stored[c]["decision"] == "offer"} == set(explored) - set(suppressed)
    assert not offered_to & {f"{c.lower()}@example.com" for c in suppressed}
