"""May this customer get an offer now? One answer for the form, the API and campaigns alike (DESIGN §10).

No offer ever goes to a suppressed address (it unsubscribed), and a customer gets at most one offer per
OFFER_COOLDOWN_DAYS across every campaign and the form (an offer of any campaign, the asking one included,
counts). `blocked` answers for many customers in a few queries, so a campaign of 100,000 asks it as cheaply
as one form submission. Asked inside the transaction that writes the offer, after the customer's row is
written (and so, on PostgreSQL, locked), its answer holds until that transaction commits.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from marketing_service.storage import Connection, iso_ago

CHUNK = 500  # ids per query: well under either engine's limit on parameters
SUPPRESSED, COOLDOWN = "suppressed", "cooldown"


@dataclass(frozen=True)
class OfferRules:
    campaign: str  # the campaign an offer made here belongs to ("retention" for the form and the API)
    cooldown_days: float = 0.0
    mail_domain: str = "example.com"  # MAIL_DOMAIN: the right side of each offer's Message-ID


def blocked(conn: Connection, candidates: Iterable[tuple[str, str]], cooldown_days: float) -> dict[str, str]:
    """customerid -> "suppressed" or "cooldown", for each (customerid, email) that may not get an offer now;
    customers who may are left out. Suppression is checked first."""
    by_email: dict[str, list[str]] = {}
    customerids: list[str] = []
    for customerid, email in candidates:
        by_email.setdefault(email.strip().lower(), []).append(customerid)
        customerids.append(customerid)
    answer: dict[str, str] = {}
    emails = list(by_email)
    for chunk in _chunks(emails):
        for (email,) in conn.execute(f"SELECT email FROM suppressions WHERE email IN ({_marks(chunk)})", chunk):
            answer.update((customerid, SUPPRESSED) for customerid in by_email[email])
    if cooldown_days > 0:
        since = iso_ago(cooldown_days * 86400)
        for chunk in _chunks([c for c in customerids if c not in answer]):
            for (customerid,) in conn.execute(
                    f"SELECT DISTINCT customerid FROM offers WHERE customerid IN ({_marks(chunk)}) AND created_at > ?",
                    [*chunk, since]):
                answer[customerid] = COOLDOWN
    return answer


def is_suppressed(conn: Connection, email: str) -> bool:
    """The same answer for one address, at send time (it may have unsubscribed after its offer was queued)."""
    return bool(blocked(conn, [("", email)], 0))


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _marks(chunk: list[str]) -> str:
    return ", ".join("?" * len(chunk))
