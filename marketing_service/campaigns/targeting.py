"""Who in a scored campaign gets an offer (DESIGN §8, §13, §14), as a pure function of the scores and the settings.

Every customer gets exactly one decision, checked in this order:
`below_target` (not worth an offer under the mode), `suppressed` (the address unsubscribed), `cooldown`
(an offer in the last OFFER_COOLDOWN_DAYS, any campaign), `over_budget` (past `max_offers`, highest expected
value first), then `holdout` or `offer`. The holdout is drawn from the customers who would get an offer, by a
hash of (campaign id, customerid), so offered and control customers come from the same population, and a
rerun picks the same people.

Explore (§14): a below-target customer whose hash number falls under `explore` is drawn into the explore share
and offered anyway (decision `offer`), unless suppressed or in cooldown: `below_target` is checked first, so a
drawn customer whose address is blocked stays `below_target` (never offered, never mailed), like an undrawn one.
Every drawn customer is stored with `explored = 1` (offered or not), and the propensity of every below-target
customer, drawn or not, blocked or not, is the explore share. The hash number is the holdout's: the two draws
never meet, since the holdout draws only among targets and explore only among the others. Explored offers do
NOT count against `max_offers` and are never `over_budget` or `holdout`: the budget is for targeted offers, and
explore is a stated extra share on top of it (at most about explore × below-target customers more).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from marketing_service.campaigns.settings import CampaignSettings
from marketing_service.offers.targets import is_target as worth_an_offer

DECISIONS = ("offer", "holdout", "below_target", "suppressed", "cooldown", "over_budget")


@dataclass(frozen=True)
class ScoredRow:
    customerid: str
    email: str
    churn_probability: float
    churn: bool  # the model's own decision, at its threshold
    expected_value: float  # in uplift mode: uplift · monthlycharges · horizon − offer cost
    uplift: float | None = None  # mode uplift: the predicted churn an offer prevents (uplift_model.py)


def hash_share(campaign_id: int, customerid: str) -> float:
    """A number uniform in [0, 1), fixed for (campaign id, customerid): the holdout's and the explore share's draw."""
    digest = hashlib.sha256(f"{campaign_id}:{customerid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_holdout(campaign_id: int, customerid: str, fraction: float) -> bool:
    return hash_share(campaign_id, customerid) < fraction


def is_target(settings: CampaignSettings, row: ScoredRow) -> bool:
    return worth_an_offer(settings.mode, settings.threshold, row.churn, row.churn_probability, row.expected_value,
                          row.uplift)


def is_explored(campaign_id: int, settings: CampaignSettings, row: ScoredRow) -> bool:
    """Below target, and drawn into the explore share (stored as `explored = 1`): offered anyway unless the
    address is blocked, when the decision stays `below_target`."""
    return not is_target(settings, row) and hash_share(campaign_id, row.customerid) < settings.explore


def may_get_offer(campaign_id: int, settings: CampaignSettings, row: ScoredRow) -> bool:
    """The customers whose block (suppression, cooldown) the caller must look up before `decide`."""
    return is_target(settings, row) or is_explored(campaign_id, settings, row)


def decide(campaign_id: int, settings: CampaignSettings, rows: Sequence[ScoredRow],
           blocked: Mapping[str, str]) -> dict[str, str]:
    """customerid -> decision, for every row; `blocked` is `offers.rules.blocked` of the customers who
    `may_get_offer` (customerid -> "suppressed" or "cooldown"), asked of the database by the caller."""
    decisions: dict[str, str] = {}
    eligible = []
    for row in rows:
        if not is_target(settings, row):
            offered = is_explored(campaign_id, settings, row) and row.customerid not in blocked
            decisions[row.customerid] = "offer" if offered else "below_target"
        elif row.customerid in blocked:
            decisions[row.customerid] = blocked[row.customerid]
        else:
            eligible.append(row)
    eligible.sort(key=lambda r: (-r.expected_value, r.customerid))
    budget = len(eligible) if settings.max_offers is None else settings.max_offers
    for position, row in enumerate(eligible):
        if position >= budget:
            decisions[row.customerid] = "over_budget"
        elif in_holdout(campaign_id, row.customerid, settings.holdout):
            decisions[row.customerid] = "holdout"
        else:
            decisions[row.customerid] = "offer"
    return decisions


def propensity(decision: str, settings: CampaignSettings, explored: bool = False) -> float:
    """DESIGN §13/§14: the chance this design gave the customer an offer. A targeted customer (offered or in the
    holdout) had 1 − holdout; every below-target one the explore share, whether drawn and offered (`offer` with
    `explored`) or not (`below_target`: undrawn, or drawn at a blocked address); a targeted customer who is
    suppressed, in cooldown or over budget 0."""
    if decision == "offer":
        return settings.explore if explored else 1.0 - settings.holdout
    if decision == "holdout":
        return 1.0 - settings.holdout
    return settings.explore if decision == "below_target" else 0.0
