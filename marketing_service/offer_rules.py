"""Which campaign an offer belongs to, and how often one customer may get an offer at all (DESIGN §8:
at most one per OFFER_COOLDOWN_DAYS across campaigns, the form's included)."""
from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class OfferRules:
    campaign: str
    cooldown_days: float = 0.0

    def cutoff(self) -> str:
        """Offers created after this (in the database's `now_iso` format) still count; 0 days turns it off."""
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - self.cooldown_days * 86400))
