"""The Jepsen-style mail checker (DESIGN §12): the ledger of offers written, against every message received.

The ledger is the `offers` table (a SQLite file or a PostgreSQL URL), each offer with its fixed Message-ID,
its final status and delivery status, and how many of its sends were ambiguous. The received log is every
copy a server took (harness/fault_smtp.py: answered or not). Checked once the system is quiescent:

- lost: an offer that should have arrived (it was not refused for good, a 550 at RCPT) but never did;
- duplicated: an offer received more than once; `ambiguous` when its ambiguous count covers the extra
  copies (a connection lost between the final dot and the 250, or a crash mid-attempt), otherwise not;
- unexpected: a received Message-ID no offer has, or an offer refused for good that arrived anyway.
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import psycopg

# Rows of a query, from either back end (harness/ imports nothing of tests/, whose fetch_all does the same).
OFFERS_SQL = "SELECT id, message_id, to_addr, status, delivery_status, ambiguous, attempts FROM offers"
EXAMPLES = 5  # Message-IDs kept per kind of problem, for a failure message


@dataclass(frozen=True)
class Offer:
    id: int
    message_id: str
    to_addr: str
    status: str  # queued, sent, failed
    delivery_status: str | None  # sent, delivered, bounced, complained; None before the first 250
    ambiguous: int
    attempts: int

    @property
    def bounced(self) -> bool:
        """Marked refused for good (550/551/553 at RCPT): not expected to arrive."""
        return self.status == "failed" and self.delivery_status == "bounced"


@dataclass
class MailReport:
    offers: int = 0
    refused: int = 0  # offers refused for good (bounced): not expected to arrive
    expected: int = 0  # offers that should arrive
    copies: int = 0  # messages received, every copy
    delivered: int = 0  # expected offers received at least once
    lost: int = 0
    duplicated_ambiguous: int = 0  # offers received more than once, explained by their ambiguous count
    duplicated_not_ambiguous: int = 0  # offers received more than once without such a cause
    extra_copies: int = 0  # copies beyond the first, over every offer
    unexpected: int = 0  # distinct Message-IDs: unknown, or refused yet received
    received_not_sent: int = 0  # received, not refused, yet not marked `sent` (a 250 the system did not believe)
    ambiguous_total: int = 0  # the offers' ambiguous counts added up
    lost_by_status: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.lost == self.unexpected == self.duplicated_not_ambiguous == 0

    def note(self, kind: str, message_id: str) -> None:
        kept = self.examples.setdefault(kind, [])
        if len(kept) < EXAMPLES:
            kept.append(message_id)

    def format(self) -> str:
        """For people: one line of counts, then examples of each problem."""
        lines = [
            f"{self.offers} offers ({self.expected} expected, {self.refused} refused for good), {self.copies} copies "
            f"received; delivered {self.delivered}, lost {self.lost}, duplicated {self.duplicated_ambiguous} ambiguous "
            f"+ {self.duplicated_not_ambiguous} not ambiguous ({self.extra_copies} extra copies, ambiguous sends "
            f"counted {self.ambiguous_total}), unexpected {self.unexpected}, received but not sent {self.received_not_sent}"
        ]
        if self.lost_by_status:
            lines.append("lost, by final status: " + ", ".join(f"{k} {v}" for k, v in sorted(self.lost_by_status.items())))
        lines += [f"{kind}: {', '.join(ids)}" for kind, ids in sorted(self.examples.items())]
        return "\n".join(lines)


def check(offers: Sequence[Offer], received: Iterable[str], refusing: Collection[str] | None = None) -> MailReport:
    """Count the ledger against the received Message-IDs (one entry per copy). `refusing`: the addresses the
    server refused for good, when it says; an offer marked bounced to any other address should have arrived."""
    copies = Counter(received)
    known = {offer.message_id for offer in offers}
    report = MailReport(offers=len(offers), copies=sum(copies.values()))
    for offer in offers:
        got = copies.get(offer.message_id, 0)
        report.ambiguous_total += offer.ambiguous
        if offer.bounced and (refusing is None or offer.to_addr.lower() in refusing):
            report.refused += 1
            if got:
                report.unexpected += 1
                report.note("refused yet received", offer.message_id)
            continue
        report.expected += 1
        if got == 0:
            report.lost += 1
            report.lost_by_status[f"{offer.status}/{offer.delivery_status}"] += 1
            report.note("lost", offer.message_id)
            continue
        report.delivered += 1
        if offer.status != "sent":
            report.received_not_sent += 1
            report.note("received but not sent", offer.message_id)
        if got > 1:
            report.extra_copies += got - 1
            if got - 1 <= offer.ambiguous:
                report.duplicated_ambiguous += 1
            else:
                report.duplicated_not_ambiguous += 1
                report.note("duplicated, not ambiguous", offer.message_id)
    for message_id in copies.keys() - known:
        report.unexpected += 1
        report.note("unknown Message-ID", message_id or "(none)")
    return report


def fetch(db: str, sql: str) -> list[tuple]:
    """Rows of `sql` (no parameters) from a SQLite file or a postgresql:// URL."""
    if db.startswith(("postgresql://", "postgres://")):
        with psycopg.connect(db, autocommit=True) as pg:
            return [tuple(row) for row in pg.execute(sql).fetchall()]
    conn = sqlite3.connect(db, timeout=30)
    try:
        return [tuple(row) for row in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def read_offers(db: str) -> list[Offer]:
    """The ledger; an offer without a Message-ID gets one no message can carry, so it shows up as lost."""
    return [Offer(i, m or f"(offer {i} has no Message-ID)", t, s, d, a or 0, n or 0)
            for i, m, t, s, d, a, n in fetch(db, OFFERS_SQL)]


def check_db(db: str, received: Iterable[str], refusing: Collection[str] | None = None) -> MailReport:
    return check(read_offers(db), received, refusing)
