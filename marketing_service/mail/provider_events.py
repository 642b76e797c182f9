"""The providers' own formats (DESIGN §12), read into MailEvents: Amazon SES notifications, through an SNS HTTP(S)
subscription or raw, and SendGrid's event webhook. Kinds we do not act on are ignored, not refused: providers add
kinds over time, and a refused batch is retried, then dropped, with the events we do want in it.

SES: Bounce (bounceType Permanent is hard; Transient and Undetermined are soft), Complaint (but feedback type
`not-spam`), Delivery; one event per recipient, its id the SNS MessageId (`#n` added when there are several).
Our Message-ID is in the original headers SES reports (`mail.headers`, `mail.commonHeaders.messageId`), not in
`mail.messageId`, which is SES's own. SendGrid: delivered; bounce (type `blocked` is soft); spamreport; dropped
for an address SendGrid already knows is dead or complained. Its `smtp-id` is our Message-ID."""
from __future__ import annotations

from typing import Any

import orjson

from marketing_service.mail.event_fields import (
    ADDRESS_MAX,
    ID_MAX,
    MAX_EVENTS,
    MESSAGE_ID_MAX,
    Bad,
    InvalidEvents,
    MailEvent,
    Parsed,
    address,
    bare_message_id,
    derived_id,
    shown,
    text,
)

SES_KINDS = {"Bounce": "bounce", "Complaint": "complaint", "Delivery": "delivered"}
SNS_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
SENDGRID_USED = ("bounce", "delivered", "dropped", "spamreport")
# A drop says something of the address only for these reasons; "Spam Content", "Invalid SMTPAPI header" and the
# like are about the message, and "Unsubscribed Address" is SendGrid's own list, not a bounce or a complaint.
SENDGRID_DROPS = {"bounced address": ("bounce", "hard"), "invalid": ("bounce", "hard"),
                  "spam reporting address": ("complaint", None)}
URL_MAX, MESSAGE_MAX = 2048, 1_000_000


def refused(bad: Bad, what: str) -> InvalidEvents:
    return InvalidEvents(f"invalid {what}: {bad.field} {bad.message}; nothing was stored",
                         [{"field": bad.field or "body", "message": bad.message}])


def sns_message(body: dict[str, Any]) -> Parsed:
    """An SNS POST: a Notification carries an SES notification as JSON text in `Message`; a subscription is
    answered with what to do by hand (marketing never fetches a URL a request names)."""
    try:
        kind = body.get("Type")
        if kind not in SNS_TYPES:
            raise Bad("Type", f"must be one of {', '.join(SNS_TYPES)}, got {shown(kind)}")
        topic = text(body, "TopicArn", 256)
        if kind == "SubscriptionConfirmation":
            url = text(body, "SubscribeURL", URL_MAX, required=True)
            return Parsed(note=f"Amazon SNS asks to confirm the subscription to {topic or 'a topic'}; marketing"
                          " never fetches URLs, so confirm it by hand: open its SubscribeURL (in marketing's log), or"
                          " run `aws sns confirm-subscription` with its TopicArn and Token", confirm_url=url)
        if kind == "UnsubscribeConfirmation":
            return Parsed(note=f"Amazon SNS says this endpoint was unsubscribed from {topic or 'a topic'}")
        event_id = text(body, "MessageId", ID_MAX, required=True)
        raw = body.get("Message")
        if not isinstance(raw, str) or len(raw) > MESSAGE_MAX:
            raise Bad("Message", "must be the SES notification as JSON text")
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Bad("Message", "is not JSON: it must be an Amazon SES notification") from None
        if not isinstance(message, dict):
            raise Bad("Message", "must be an Amazon SES notification (a JSON object)")
        return ses_events(message, event_id, "Message.")
    except Bad as bad:
        raise refused(bad, "Amazon SNS message") from None


def ses_notification(message: dict[str, Any]) -> Parsed:
    """An SES notification or event (`notificationType`, or `eventType` from a configuration set) posted raw, with
    no SNS envelope; without an SNS MessageId, its id is derived from its content."""
    try:
        return ses_events(message, derived_id(message), "")
    except Bad as bad:
        raise refused(bad, "Amazon SES notification") from None


def ses_events(message: dict[str, Any], event_id: str, where: str) -> Parsed:
    kind = message.get("notificationType", message.get("eventType"))
    if kind not in SES_KINDS:  # AmazonSnsSubscriptionSucceeded, Send, Reject, Open, Click, DeliveryDelay...
        return Parsed(ignored=1)
    mail = section(message, "mail", where, required=False)
    message_id = bare_message_id(our_message_id(mail))
    detail = section(message, kind.lower(), where)
    inner, bounce_type = f"{where}{kind.lower()}.", None
    if kind == "Bounce":
        bounce_type = "hard" if text(detail, "bounceType", 40, inner).lower() == "permanent" else "soft"
        recipients = [text(r, "emailAddress", ADDRESS_MAX, f"{inner}bouncedRecipients[{n}].", required=True)
                      for n, r in enumerate(objects(detail, "bouncedRecipients", inner))]
    elif kind == "Complaint":
        if text(detail, "complaintFeedbackType", 40, inner) == "not-spam":
            return Parsed(ignored=1)
        recipients = [text(r, "emailAddress", ADDRESS_MAX, f"{inner}complainedRecipients[{n}].", required=True)
                      for n, r in enumerate(objects(detail, "complainedRecipients", inner))]
    else:
        recipients = strings(detail, "recipients", inner)
    if not recipients:
        return Parsed(ignored=1)
    many = len(recipients) > 1
    return Parsed([MailEvent("ses", f"{event_id}#{n}" if many else event_id, SES_KINDS[kind], address(r), message_id,
                             bounce_type) for n, r in enumerate(recipients)])


def section(item: dict[str, Any], key: str, where: str, required: bool = True) -> dict[str, Any]:
    value = item.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Bad(f"{where}{key}", "must be an object")
    return value


def objects(item: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = item.get(key)
    if not isinstance(value, list) or len(value) > MAX_EVENTS or not all(isinstance(v, dict) for v in value):
        raise Bad(f"{where}{key}", f"must be a list of at most {MAX_EVENTS} objects")
    return value


def strings(item: dict[str, Any], key: str, where: str) -> list[str]:
    value = item.get(key)
    if not isinstance(value, list) or len(value) > MAX_EVENTS or \
            not all(isinstance(v, str) and len(v) <= ADDRESS_MAX for v in value):
        raise Bad(f"{where}{key}", f"must be a list of at most {MAX_EVENTS} addresses")
    return value


def our_message_id(mail: dict[str, Any]) -> str:
    """The Message-ID header we sent, as SES reports the original headers; "" when it did not include them, or
    reports something no offer of ours can have (a Message-ID holds no whitespace: a folded one is unfolded)."""
    found: Any = None
    headers = mail.get("headers")
    if isinstance(headers, list):
        found = next((h.get("value") for h in headers
                      if isinstance(h, dict) and isinstance(h.get("name"), str) and h["name"].lower() == "message-id"),
                     None)
    common = mail.get("commonHeaders")
    if found is None and isinstance(common, dict):
        found = common.get("messageId")
    return "".join(found.split()) if isinstance(found, str) and len(found) <= MESSAGE_ID_MAX else ""


def is_sendgrid(item: Any) -> bool:
    return isinstance(item, dict) and "event" in item


def sendgrid_event(item: dict[str, Any]) -> MailEvent | None:
    """One event of SendGrid's batch; None for a kind we do not act on, or one naming no usable recipient
    (SendGrid's own examples drop mail to "not an email address")."""
    kind = text(item, "event", 64, required=True)
    if kind not in SENDGRID_USED:  # processed, deferred, open, click, unsubscribe, group_unsubscribe...
        return None
    recipient = address(text(item, "email", ADDRESS_MAX))
    message_id = bare_message_id(text(item, "smtp-id", MESSAGE_ID_MAX))
    event_id = text(item, "sg_event_id", ID_MAX) or derived_id(item)
    bounce_type: str | None = None
    if kind == "delivered":
        type_ = "delivered"
    elif kind == "spamreport":
        type_ = "complaint"
    elif kind == "bounce":
        temporary = plain(item, "type") == "blocked" or plain(item, "status").startswith("4")
        type_, bounce_type = "bounce", "soft" if temporary else "hard"
    else:
        dropped = SENDGRID_DROPS.get(plain(item, "reason").strip().lower())
        if dropped is None:
            return None
        type_, bounce_type = dropped
    if not recipient and not message_id:
        return None
    return MailEvent("sendgrid", event_id, type_, recipient, message_id, bounce_type)


def plain(item: dict[str, Any], key: str) -> str:
    """A free-text field we only compare (a reason, a status): whatever it holds, or "" if it is not text."""
    value = item.get(key)
    return value if isinstance(value, str) else ""
