"""`POST /api/mail-events` (DESIGN §12): where a mail provider's webhook reports bounces, complaints and deliveries.
A token of role webhook (nothing else), marketer or admin; as a bearer token or the password of HTTP Basic."""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from http_common.errors import ApiError, is_json_type, parse_json, read_json
from marketing_service.auth.current import actor
from marketing_service.auth.roles import WEBHOOK, requires
from marketing_service.mail.events import InvalidEvents, parse_events
from marketing_service.mail.feedback import apply_events
from marketing_service.state import request_db
from marketing_service.web.access import token_in_basic

mail_events = Blueprint("mail_events", __name__)
log = logging.getLogger(__name__)
SNS_HEADER = "x-amz-sns-message-type"


def read_body() -> Any:
    """JSON, or Amazon SNS's JSON sent as text/plain. Only SNS's own: it always sends its message-type header, and
    a page of another site can post text/plain (a form) but cannot add that header."""
    content_type = request.environ.get("CONTENT_TYPE", "")
    if SNS_HEADER in request.headers and content_type.partition(";")[0].strip().lower() == "text/plain":
        return parse_json(request.get_data(cache=False))
    if not is_json_type(content_type):
        raise ApiError(415, "unsupported_media_type", "send the events as application/json (Amazon SNS's text/plain"
                       f" is taken with its own {SNS_HEADER} header)")
    return read_json(request)


@mail_events.post("/api/mail-events")
@requires("marketer", WEBHOOK)
@token_in_basic
def receive() -> ResponseReturnValue:
    try:
        parsed = parse_events(read_body())
    except InvalidEvents as exc:
        raise ApiError(exc.status, exc.code, str(exc), exc.details) from None
    if parsed.confirm_url:
        log.warning("Amazon SNS subscription waiting for confirmation by hand (marketing fetches no URL): %s",
                    parsed.confirm_url)
    elif parsed.note:
        log.info("%s", parsed.note)
    done = apply_events(request_db(), parsed.events, actor())
    answer: dict[str, Any] = {"accepted": done.accepted, "duplicates": done.duplicates, "ignored": parsed.ignored,
                              "unmatched": done.unmatched}
    if parsed.note:
        answer["note"] = parsed.note
    if parsed.events or parsed.ignored:
        log.info("mail events from %s: %d accepted, %d duplicates, %d ignored, %d unmatched, %d addresses suppressed",
                 actor(), done.accepted, done.duplicates, parsed.ignored, done.unmatched, len(done.suppressed))
    return jsonify(answer)
