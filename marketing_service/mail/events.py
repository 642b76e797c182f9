"""Mail events as the providers send them (DESIGN §12), read whole before anything is stored: our generic JSON,
Amazon SES notifications (through SNS, or raw) and SendGrid's event webhook. Any item refused refuses the whole
payload, naming the item and the field; event kinds we do not act on are counted and ignored.

This module tells the formats apart and reads the generic one; provider_events.py reads the providers' own."""
from __future__ import annotations

from typing import Any

from marketing_service.mail.event_fields import (
    ADDRESS_MAX,
    BOUNCE_TYPES,
    ID_MAX,
    MAX_EVENTS,
    MESSAGE_ID_MAX,
    TYPES,
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
from marketing_service.mail.provider_events import is_sendgrid, sendgrid_event, ses_notification, sns_message

__all__ = ["MAX_EVENTS", "InvalidEvents", "MailEvent", "Parsed", "generic_event", "parse_events"]


def generic_event(item: Any) -> MailEvent:
    """`{"type", "message_id" or "email", "bounce_type"?, "event_id"?}`: our own format, checked strictly."""
    if not isinstance(item, dict):
        raise Bad("", "must be an object with a type, and a message_id or an email")
    kind = item.get("type")
    if kind not in TYPES:
        raise Bad("type", f"must be one of {', '.join(TYPES)}, got {shown(kind)}")
    bounce_type = text(item, "bounce_type", 10)
    if bounce_type and bounce_type not in BOUNCE_TYPES:
        raise Bad("bounce_type", f"must be hard or soft, got {bounce_type!r}")
    message_id = bare_message_id(text(item, "message_id", MESSAGE_ID_MAX))
    email = text(item, "email", ADDRESS_MAX)
    if email and not address(email):
        raise Bad("email", "must be an e-mail address")
    if not message_id and not email:
        raise Bad("message_id", "a message_id or an email is required")
    event_id = text(item, "event_id", ID_MAX) or derived_id(item)
    return MailEvent("generic", event_id, kind, address(email), message_id,
                     (bounce_type or "hard") if kind == "bounce" else None)


def parse_events(body: Any) -> Parsed:
    """Whichever of the three formats `body` is in; InvalidEvents if it is none of them, or any item is bad."""
    if isinstance(body, dict) and "Type" in body:
        return sns_message(body)
    if isinstance(body, dict) and ("notificationType" in body or "eventType" in body):
        return ses_notification(body)
    if isinstance(body, list) and len(body) > MAX_EVENTS:
        raise InvalidEvents(f"at most {MAX_EVENTS} events per request, got {len(body)}; send them in parts",
                            [{"field": "body", "message": f"must hold at most {MAX_EVENTS} events"}], 413, "too_many_events")
    if not isinstance(body, (dict, list)):
        raise InvalidEvents("the body must be a mail event or a list of them (or an SNS notification)",
                            [{"field": "body", "message": "must be a JSON object or array"}])
    items, indexed = (body, True) if isinstance(body, list) else ([body], False)
    parsed, details = Parsed(), []
    for index, item in enumerate(items):
        try:
            event = sendgrid_event(item) if is_sendgrid(item) else generic_event(item)
        except Bad as bad:
            details.append({"field": bad.field or "item", "message": bad.message, **({"index": index} if indexed else {})})
            continue
        if event is None:
            parsed.ignored += 1
        else:
            parsed.events.append(event)
    if details:
        raise InvalidEvents(f"{len(details)} invalid mail event(s); nothing was stored", details)
    return parsed
