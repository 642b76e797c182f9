"""The mail events webhook (DESIGN §12) in marketing's OpenAPI document. The schema is the generic format and
SendGrid's events; an Amazon SNS POST (an envelope whose `Message` is an SES notification as JSON text, sent as
text/plain with `x-amz-sns-message-type`) is described in words, since a schema cannot say "JSON inside a string"."""
from __future__ import annotations

from typing import Any

from marketing_service.mail.event_fields import ADDRESS_MAX, BOUNCE_TYPES, ID_MAX, MAX_EVENTS, MESSAGE_ID_MAX, TYPES

JSON = "application/json"
DESCRIPTION = (
    "Bounces, complaints and deliveries reported by a mail provider. The body is one of: our generic events (one, or a"
    f" list of up to {MAX_EVENTS}); SendGrid's event webhook (a list; kinds other than bounce, dropped, spamreport and"
    " delivered are accepted and ignored); or an Amazon SNS message carrying an SES notification (`Type`"
    " Notification, its `Message` the notification as JSON text; SNS sends it as text/plain, accepted with its"
    " `x-amz-sns-message-type` header; a SubscriptionConfirmation is answered with a note and logged, never fetched)."
    " An event is stored once per provider and event id: a redelivery is counted as a duplicate and does nothing."
    " Hard bounces and complaints suppress the address; 5 soft bounces in a row, with no delivery between, too."
    " Needs a token of role webhook, marketer or admin: as a bearer token, or as the password of HTTP Basic (any"
    " user name), the form a provider can send from a URL (`https://x:TOKEN@host/api/mail-events`).")


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def event_schemas() -> dict[str, Any]:
    message_id = {"type": "string", "minLength": 1, "maxLength": MESSAGE_ID_MAX,
                  "description": "the offer's Message-ID, with or without its angle brackets"}
    email = {"type": "string", "format": "email", "maxLength": ADDRESS_MAX}
    generic = {"type": "object", "required": ["type"], "additionalProperties": False, "properties": {
        "type": {"type": "string", "enum": list(TYPES)},
        "message_id": message_id,
        "email": {**email, "description": "used when no message_id matches: the address's most recent offer"},
        "bounce_type": {"type": "string", "enum": list(BOUNCE_TYPES), "description": "bounces only; absent is hard"},
        "event_id": {"type": "string", "minLength": 1, "maxLength": ID_MAX,
                     "description": "your id for the event; absent, one is derived from the item's content"}},
        "anyOf": [{"required": ["message_id"]}, {"required": ["email"]}]}
    sendgrid = {"type": "object", "required": ["event", "email"], "properties": {
        "event": {"type": "string", "minLength": 1, "maxLength": 64}, "email": email,
        "sg_event_id": {"type": "string", "minLength": 1, "maxLength": ID_MAX}, "smtp-id": message_id,
        "type": {"type": "string", "enum": ["bounce", "blocked"], "description": "of a bounce: blocked is soft"},
        "reason": {"type": "string", "maxLength": 2000}},
        "description": "one event of SendGrid's event webhook"}
    return {"MailEvent": generic, "SendGridEvent": sendgrid}


def mail_event_paths(error: dict[str, Any]) -> dict[str, Any]:
    item = {"anyOf": [{"$ref": "#/components/schemas/MailEvent"}, {"$ref": "#/components/schemas/SendGridEvent"}]}
    body = {"oneOf": [item, {"type": "array", "maxItems": MAX_EVENTS, "items": item}]}
    count = {"type": "integer", "minimum": 0}
    counts = {"type": "object", "required": ["accepted", "duplicates", "ignored", "unmatched"], "properties": {
        "accepted": {**count, "description": "events stored now, and acted on"},
        "duplicates": {**count, "description": "events stored before (same provider and event id): nothing done again"},
        "ignored": {**count, "description": "event kinds not acted on (opens, clicks, deferrals...)"},
        "unmatched": {**count, "description": "events matching no offer; an address they name is still acted on"},
        "note": {"type": "string", "description": "for an SNS subscription: what to do by hand"}}}
    return {"/api/mail-events": {"post": {
        "summary": "Receive a mail provider's bounce, complaint and delivery events", "description": DESCRIPTION,
        "security": [{"bearer": []}, {"basic": []}],
        "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
        "responses": {"200": _json("applied (or a subscription noted)", counts),
                      "400": error, "413": error, "415": error, "422": error, "503": error}}}}
