"""Deliver due offer emails: claim, send each while the lease still covers a whole send, mark under the
lease token. A send that might outlive the lease is not started; those emails go back to the outbox.

With a mailer whose second send replaces the first (the .eml writer), the sent emails of a claim are made
durable together (one fsync of the mail directory) and marked together, in one transaction rather than one
each: a crash between the sends and the mark makes the next worker write the same files again, still one per
offer. Any other mailer (SMTP) marks each email before
it sends the next, so a crash can repeat at most the one email in flight.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from marketing_service.mail import outbox
from marketing_service.mail.links import Links
from marketing_service.mail.mailers import Mailer
from marketing_service.mail.message import render
from marketing_service.offers.rules import is_suppressed
from marketing_service.storage import Connection

log = logging.getLogger(__name__)


def deliver_due(conn: Connection, mailer: Mailer, mail_from: str, lease_s: float, links: Links) -> int:
    token, lease_ends, offers = outbox.claim(conn, outbox.claim_size(lease_s, mailer.timeout_s), lease_s)
    unmarked: list[Any] = []
    sent = 0
    for position, offer in enumerate(offers):
        if time.time() + mailer.timeout_s > lease_ends:
            sent += _mark(conn, mailer, token, unmarked)
            unmarked = []
            outbox.release(conn, token, [o["id"] for o in offers[position:]])
            break
        if is_suppressed(conn, offer["to_addr"]):  # unsubscribed after the offer was queued
            outbox.suppress(conn, offer["to_addr"], "delivery")
            continue
        try:
            mailer.send(render(offer, mail_from, links.url(offer["to_addr"])), offer["id"])
        except (OSError, ValueError) as exc:  # smtplib errors are OSErrors; bad headers ValueErrors
            log.warning("offer %s delivery failed (attempt %s): %s", offer["id"], offer["attempts"], exc)
            outbox.mark_failed(conn, offer["id"], token, offer["attempts"], f"{type(exc).__name__}: {exc}")
            continue
        unmarked.append(offer)
        if not mailer.idempotent:
            sent += _mark(conn, mailer, token, unmarked)
            unmarked = []
    return sent + _mark(conn, mailer, token, unmarked)


def _mark(conn: Connection, mailer: Mailer, token: str, offers: list[Any]) -> int:
    if not offers:
        return 0
    mailer.settle()
    marked = outbox.mark_sent_many(conn, [o["id"] for o in offers], token)
    for offer in offers:
        if offer["id"] in marked:
            log.info("offer %s sent to customer %s", offer["id"], offer["customerid"])
        else:
            log.error("offer %s was sent after its lease was lost; it may have been sent twice", offer["id"])
    return len(marked)
