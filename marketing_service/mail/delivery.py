"""Deliver due offer emails: claim, send each while the lease still covers a whole send, record each outcome
under the lease token (DESIGN §12). A send that might outlive the lease is not started; those emails go back
to the outbox.

With a mailer whose second send replaces the first (the .eml writer), the sent emails of a claim are made
durable together (one fsync of the mail directory) and marked together, in one transaction rather than one
each: a crash between the sends and the mark makes the next worker write the same files again, still one per
offer. Any other mailer (SMTP) records the attempt as started before it sends and marks it after, so a crash
mid-send is found and counted as ambiguous by the next claim; at most that one email can go out twice.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from marketing_service.mail import outbox
from marketing_service.mail.failures import SendFailure
from marketing_service.mail.links import Links
from marketing_service.mail.mailers import Mailer
from marketing_service.mail.message import render
from marketing_service.mail.pacing import Pacer
from marketing_service.offers.rules import is_suppressed
from marketing_service.storage import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    mail_from: str
    domain: str = "example.com"  # MAIL_DOMAIN, for offers written before Message-IDs were
    max_attempts: int = 8  # MAIL_MAX_ATTEMPTS
    backoff_s: float = 2.0  # MAIL_BACKOFF_SECONDS
    pacer: Pacer | None = None  # MAIL_RATE_PER_MINUTE, when set


def deliver_due(conn: Connection, mailer: Mailer, policy: DeliveryPolicy, lease_s: float, links: Links) -> int:
    size = outbox.claim_size(lease_s, mailer.timeout_s)
    if policy.pacer is not None:
        size = min(size, policy.pacer.per_lease(lease_s))
    token, lease_ends, offers = outbox.claim(conn, size, lease_s, policy.max_attempts, policy.domain)
    unmarked: list[Any] = []
    sent = 0
    for position, offer in enumerate(offers):
        start = _start_time(conn, policy, lease_ends - mailer.timeout_s)
        if start is None:  # the rest could not be sent within the lease: give it back untried
            sent += _mark(conn, mailer, token, unmarked)
            unmarked = []
            outbox.release(conn, token, [o["id"] for o in offers[position:]])
            break
        time.sleep(max(0.0, start - time.time()))
        if is_suppressed(conn, offer["to_addr"]):  # unsubscribed (or bounced) after the offer was queued
            outbox.suppress(conn, offer["to_addr"], "delivery")
            continue
        if not mailer.idempotent and not outbox.start_attempt(conn, offer, token):
            continue  # the lease was lost: another worker has the offer now
        try:
            mailer.send(render(offer, policy.mail_from, links.url(offer["to_addr"])), offer["id"])
        except SendFailure as exc:
            _failed(conn, policy, token, offer, exc)
            continue
        except OSError as exc:  # the .eml writer: a full disk heals
            _failed(conn, policy, token, offer, SendFailure(f"{type(exc).__name__}: {exc}"))
            continue
        except ValueError as exc:  # a header that cannot be written never will be
            _failed(conn, policy, token, offer, SendFailure(f"cannot write the message: {exc}", permanent=True))
            continue
        unmarked.append(offer)
        if not mailer.idempotent:
            sent += _mark(conn, mailer, token, unmarked)
            unmarked = []
    return sent + _mark(conn, mailer, token, unmarked)


def _start_time(conn: Connection, policy: DeliveryPolicy, latest: float) -> float | None:
    """When the next send may start (now, or its paced slot), if that still lets it finish within the lease."""
    if policy.pacer is not None:
        return policy.pacer.reserve(conn, latest)
    now = time.time()
    return now if now <= latest else None


def _failed(conn: Connection, policy: DeliveryPolicy, token: str, offer: dict[str, Any], exc: SendFailure) -> None:
    final = exc.permanent or offer["attempts"] >= policy.max_attempts
    retry_in = None if final else outbox.backoff(policy.backoff_s, offer["attempts"])
    outbox.mark_failed(conn, offer, token, str(exc), retry_in=retry_in, ambiguous=exc.ambiguous, bounced=exc.bounced)
    if exc.bounced:  # 550/551/553 for the recipient: the address is dead, no offer goes there again
        outbox.suppress(conn, offer["to_addr"], "delivery", "hard_bounce")
    log.warning("offer %s attempt %s failed%s%s: %s", offer["id"], offer["attempts"],
                " (ambiguous: it may have been delivered)" if exc.ambiguous else "",
                "; no more attempts" if final else f"; next in {retry_in:.1f}s", exc)


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
