"""Who in a scored campaign gets an offer (DESIGN §8), as a pure function of the scores and the settings.

Every customer gets exactly one decision, checked in this order:
`below_target` (not worth an offer under the mode), `suppressed` (the address unsubscribed), `cooldown`
(an offer in the last OFFER_COOLDOWN_DAYS, any campaign), `over_budget` (past `max_offers`, highest expected
value first), then `holdout` or `offer`. The holdout is drawn from the customers who would get an offer, by a
hash of (campaign id, customerid), so offered and control customers come from the same population, and a
rerun picks the same people.
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
    expected_value: float


def in_holdout(campaign_id: int, customerid: str, fraction: float) -> bool:
    digest = hashlib.sha256(f"{campaign_id}:{customerid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def is_target(settings: CampaignSettings, row: ScoredRow) -> bool:
    return worth_an_offer(settings.mode, settings.threshold, row.churn, row.churn_probability, row.expected_value)


def decide(campaign_id: int, settings: CampaignSettings, rows: Sequence[ScoredRow],
           blocked: Mapping[str, str]) -> dict[str, str]:
    """customerid -> decision, for every row; `blocked` is `offers.rules.blocked` of the targets (customerid ->
    "suppressed" or "cooldown"), asked of the database by the caller."""
    decisions: dict[str, str] = {}
    eligible = []
    for row in rows:
        if not is_target(settings, row):
            decisions[row.customerid] = "below_target"
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


def propensity(decision: str, settings: CampaignSettings) -> float:
    """DESIGN §13: the chance this design gave the customer an offer. A targeted customer (offered or in the
    holdout) had 1 − holdout; below-target ones 0 (no `explore` share yet); the blocked and over-budget ones 0."""
    return 1.0 - settings.holdout if decision in ("offer", "holdout") else 0.0
