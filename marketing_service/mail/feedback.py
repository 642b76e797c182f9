"""What mail events do to the database (DESIGN §12): each is stored once per (provider, event id), so a redelivered
webhook counts once; a new one moves its offer's delivery status, counts soft bounces in a row, and suppresses the
address after a hard bounce, a complaint, or SOFT_BOUNCE_LIMIT soft bounces with no delivery between them.

Events are applied in transactions of CHUNK, each storing its events with their effects. Suppressing goes through
mail.outbox.suppress (it also stops the address's waiting offers) in its own transaction, after the events': an
address whose stored events call for it is suppressed on every delivery of those events, a duplicate's included,
so a crash between the two is mended by the provider's retry."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from marketing_service.mail.event_fields import MailEvent
from marketing_service.mail.outbox import suppress
from marketing_service.offers.rules import blocked
from marketing_service.storage import Connection, now_iso
from marketing_service.storage.dialect import in_lock_order

log = logging.getLogger(__name__)
SOFT_BOUNCE_LIMIT = 5
CHUNK = 500
# An offer's delivery status only moves up this order: delivered never hides a bounce or a complaint, and a
# complaint (the mail arrived, and its reader called it spam) outranks everything. NULL ranks as `sent`.
STATUS_ORDER = ("sent", "delivered", "bounced", "complained")
REASON_ORDER = ("soft_bounce", "hard_bounce", "complaint")  # for an address with several: the strongest is kept


@dataclass
class Applied:
    accepted: int = 0  # stored now, and acted on
    duplicates: int = 0  # stored before: nothing done again
    unmatched: int = 0  # matched no offer (an address they name is still acted on; with none, they are dropped)
    suppressed: dict[str, str] = field(default_factory=dict)  # address -> reason, suppressed by this call


def new_status(event: MailEvent) -> str | None:
    """The delivery status an event asks for; a soft bounce asks for none (the mail may still arrive)."""
    if event.type == "delivered":
        return "delivered"
    if event.type == "complaint":
        return "complained"
    return "bounced" if event.bounce_type == "hard" else None


def replaces(current: str | None, status: str) -> bool:
    """Whether `status` takes the place of an offer's `current` delivery status (the rule, in Python)."""
    return (current or "sent") in STATUS_ORDER[:STATUS_ORDER.index(status)]


def move_status(conn: Connection, offer_id: int, status: str) -> None:
    """`replaces`, in one conditional UPDATE: no read-then-write race with delivery or another webhook."""
    below = STATUS_ORDER[:STATUS_ORDER.index(status)]
    conn.execute(f"UPDATE offers SET delivery_status = ?, delivery_at = ? WHERE id = ?"
                 f" AND COALESCE(delivery_status, 'sent') IN ({', '.join('?' * len(below))})",
                 (status, now_iso(), offer_id, *below))


def find_offer(conn: Connection, event: MailEvent) -> tuple[int, str] | None:
    """(id, address) of the offer the event is about: by its Message-ID, else the address's most recent offer."""
    row = None
    if event.message_id:
        row = conn.execute("SELECT id, to_addr FROM offers WHERE message_id = ?", (f"<{event.message_id}>",)).fetchone()
    if row is None and event.email:
        row = conn.execute("SELECT id, to_addr FROM offers WHERE lower(to_addr) = ? ORDER BY id DESC LIMIT 1",
                           (event.email,)).fetchone()
    return (int(row[0]), str(row[1]).strip().lower()) if row else None


def count_soft(conn: Connection, email: str, stored: bool) -> int:
    """Soft bounces in a row for `email`: one more for a new soft bounce, as they stand for a duplicate."""
    if not stored:
        row = conn.execute("SELECT in_a_row FROM soft_bounces WHERE email = ?", (email,)).fetchone()
        return int(row[0]) if row else 0
    return int(conn.execute(
        """INSERT INTO soft_bounces (email, in_a_row, updated_at) VALUES (?, 1, ?) ON CONFLICT (email)
           DO UPDATE SET in_a_row = soft_bounces.in_a_row + 1, updated_at = excluded.updated_at RETURNING in_a_row""",
        (email, now_iso())).fetchone()[0])


def apply_chunk(conn: Connection, events: Sequence[MailEvent], done: Applied) -> dict[str, str]:
    """Store and apply `events` in one transaction; the addresses their events call to suppress, with why."""
    due: dict[str, str] = {}
    stamp = now_iso()
    with conn.transaction():
        for event in in_lock_order(conn, events, key=lambda e: e.email):
            offer = find_offer(conn, event)
            email = event.email or (offer[1] if offer else "")
            if not email:  # neither an offer nor an address: nothing to act on, nothing to store
                done.unmatched += 1
                continue
            stored = conn.execute(
                """INSERT INTO mail_events (provider, event_id, type, bounce_type, email, offer_id, received_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING RETURNING id""",
                (event.provider, event.event_id, event.type, event.bounce_type, email, offer[0] if offer else None, stamp),
            ).fetchone() is not None
            if not stored:
                done.duplicates += 1
            else:
                done.accepted += 1
                done.unmatched += 1 if offer is None else 0
            status = new_status(event)
            if stored and offer is not None and status is not None:
                move_status(conn, offer[0], status)
            reason = event.suppression
            if event.type == "bounce" and event.bounce_type == "soft" and \
                    count_soft(conn, email, stored) >= SOFT_BOUNCE_LIMIT:
                reason = "soft_bounce"
            elif stored and event.type == "delivered":
                conn.execute("UPDATE soft_bounces SET in_a_row = 0, updated_at = ? WHERE email = ? AND in_a_row > 0",
                             (stamp, email))
            if reason is not None and REASON_ORDER.index(reason) >= REASON_ORDER.index(due.get(email, reason)):
                due[email] = reason
    return due


def not_suppressed(conn: Connection, due: dict[str, str]) -> dict[str, str]:
    if not due:
        return {}
    already = set(blocked(conn, [(email, email) for email in due], 0))  # the one place that reads suppressions
    return {email: reason for email, reason in due.items() if email not in already}


def apply_events(conn: Connection, events: Sequence[MailEvent], created_by: str) -> Applied:
    """Apply a parsed payload; `created_by` (the token's actor) is recorded on the suppressions it makes."""
    done = Applied()
    for start in range(0, len(events), CHUNK):
        due = not_suppressed(conn, apply_chunk(conn, events[start:start + CHUNK], done))
        for email, reason in due.items():
            stopped = suppress(conn, email, created_by, reason)
            done.suppressed[email] = reason
            log.info("suppressed an address for a %s reported by %s (%d waiting offers stopped)", reason,
                     created_by, stopped)
    return done
