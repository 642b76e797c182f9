"""Deliver due offer emails: claim, send each while the lease still covers a whole send, mark under the
lease token. A send that might outlive the lease is not started; those emails go back to the outbox."""
from __future__ import annotations

import logging
import sqlite3
import time

from marketing_service import outbox
from marketing_service.mailer import Mailer, build_message
from marketing_service.suppression import Links, is_suppressed, suppress

log = logging.getLogger(__name__)


def deliver_due(conn: sqlite3.Connection, mailer: Mailer, mail_from: str, lease_s: float, links: Links) -> int:
    token, lease_ends, offers = outbox.claim(conn, outbox.claim_size(lease_s, mailer.timeout_s), lease_s)
    sent = 0
    for position, offer in enumerate(offers):
        if time.time() + mailer.timeout_s > lease_ends:
            outbox.release(conn, token, [o["id"] for o in offers[position:]])
            break
        if is_suppressed(conn, offer["to_addr"]):  # unsubscribed after the offer was queued
            suppress(conn, offer["to_addr"])
            continue
        try:
            mailer.send(build_message(offer, mail_from, links.url(offer["to_addr"])), offer["id"])
        except (OSError, ValueError) as exc:  # smtplib errors are OSErrors; bad headers ValueErrors
            log.warning("offer %s delivery failed (attempt %s): %s", offer["id"], offer["attempts"], exc)
            outbox.mark_failed(conn, offer["id"], token, offer["attempts"], f"{type(exc).__name__}: {exc}")
            continue
        if outbox.mark_sent(conn, offer["id"], token):
            sent += 1
            log.info("offer %s sent to customer %s", offer["id"], offer["customerid"])
        else:
            log.error("offer %s was sent after its lease was lost; it may have been sent twice", offer["id"])
    return sent
