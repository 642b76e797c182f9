"""The mail event parsers (DESIGN §12) on payloads as the providers document them: Amazon SES's notification
examples (SES Developer Guide, "Amazon SNS notification examples"), wrapped in SNS's HTTP(S) envelope (SNS
Developer Guide, "HTTP/HTTPS notification JSON format"), and SendGrid's Event Webhook reference example, which
holds one event of each kind. The fields below are theirs; only the ids we match on are ours where noted."""
from __future__ import annotations

import json
from typing import Any

import pytest

from marketing_service.auth.roles import WEBHOOK, InvalidRole, at_least, checked_token_role, checked_user_role, may_call
from marketing_service.mail.events import MAX_EVENTS, InvalidEvents, MailEvent, parse_events
from marketing_service.mail.feedback import replaces

SES_HEADERS = [
    {"name": "From", "value": "\"John Doe\" <john@example.com>"},
    {"name": "To",
     "value": "\"Jane Doe\" <jane@example.com>, \"Mary Doe\" <mary@example.com>, \"Richard Doe\" <richard@example.com>"},
    {"name": "Message-ID", "value": "custom-message-ID"},
    {"name": "Subject", "value": "Hello"},
    {"name": "Content-Type", "value": "text/plain; charset=\"UTF-8\""},
    {"name": "Content-Transfer-Encoding", "value": "base64"},
    {"name": "Date", "value": "Wed, 27 Jan 2016 14:05:45 +0000"},
]
SES_MAIL = {
    "timestamp": "2016-01-27T14:59:38.237Z", "source": "john@example.com",
    "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com", "sourceIp": "127.0.3.0",
    "sendingAccountId": "123456789012", "callerIdentity": "IAM_user_or_role_name",
    "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
    "destination": ["jane@example.com", "mary@example.com", "richard@example.com"], "headersTruncated": False,
    "headers": SES_HEADERS,
    "commonHeaders": {"from": ["John Doe <john@example.com>"], "date": "Wed, 27 Jan 2016 14:05:45 +0000",
                      "to": ["Jane Doe <jane@example.com>, Mary Doe <mary@example.com>, Richard Doe <richard@example.com>"],
                      "messageId": "custom-message-ID", "subject": "Hello"},
}
SES_BOUNCE_WITH_DSN = {
    "notificationType": "Bounce",
    "bounce": {"bounceType": "Permanent", "reportingMTA": "dns; email.example.com",
               "bouncedRecipients": [{"emailAddress": "jane@example.com", "status": "5.1.1", "action": "failed",
                                      "diagnosticCode": "smtp; 550 5.1.1 <jane@example.com>... User"}],
               "bounceSubType": "General", "timestamp": "2016-01-27T14:59:38.237Z",
               "feedbackId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000", "remoteMtaIp": "127.0.2.0"},
    "mail": SES_MAIL,
}
SES_BOUNCE_WITHOUT_DSN = {  # bounce notifications not set to include the original headers carry none
    "notificationType": "Bounce",
    "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
               "bouncedRecipients": [{"emailAddress": "jane@example.com"}, {"emailAddress": "richard@example.com"}],
               "timestamp": "2016-01-27T14:59:38.237Z",
               "feedbackId": "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000", "remoteMtaIp": "127.0.2.0"},
    "mail": {"timestamp": "2016-01-27T14:59:38.237Z", "messageId": "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
             "source": "john@example.com", "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
             "sourceIp": "127.0.3.0", "sendingAccountId": "123456789012", "callerIdentity": "IAM_user_or_role_name",
             "destination": ["jane@example.com", "mary@example.com", "richard@example.com"]},
}
SES_COMPLAINT = {
    "notificationType": "Complaint",
    "complaint": {"userAgent": "AnyCompany Feedback Loop (V0.01)",
                  "complainedRecipients": [{"emailAddress": "richard@example.com"}], "complaintFeedbackType": "abuse",
                  "arrivalDate": "2016-01-27T14:59:38.237Z", "timestamp": "2016-01-27T14:59:38.237Z",
                  "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"},
    "mail": SES_MAIL,
}
SES_DELIVERY = {
    "notificationType": "Delivery",
    "mail": {**SES_MAIL, "messageId": "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000",
             "destination": ["jane@example.com"]},
    "delivery": {"timestamp": "2016-01-27T14:59:38.237Z", "recipients": ["jane@example.com"], "processingTimeMillis": 546,
                 "reportingMTA": "a8-70.smtp-out.amazonses.com", "smtpResponse": "250 ok:  Message 64111812 accepted",
                 "remoteMtaIp": "127.0.2.0"},
}


def sns(message: Any, message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324") -> dict[str, Any]:
    """SNS's HTTP(S) notification envelope, with its documented example values; `Message` is the SES JSON."""
    return {"Type": "Notification", "MessageId": message_id, "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
            "Subject": "Amazon SES Email Event Notification",
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2012-05-02T00:54:06.655Z", "SignatureVersion": "1", "Signature": "EXAMPLEw6JRN...",
            "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
            "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:"
                              "123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96"}


SNS_SUBSCRIPTION = {
    "Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", "Token": "2336412f37...",
    "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
    "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\n"
               "To confirm the subscription, visit the SubscribeURL included in this message.",
    "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:"
                    "123456789012:MyTopic&Token=2336412f37...",
    "Timestamp": "2012-04-26T20:45:04.751Z", "SignatureVersion": "1", "Signature": "EXAMPLEpH+...",
    "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
}


def sendgrid(event: str, **extra: Any) -> dict[str, Any]:
    return {"email": "example@test.com", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "event": event, "category": "cat facts", "sg_event_id": f"sg_event_id-{event}", "sg_message_id": "sg_message_id",
            **extra}


# SendGrid's reference example, one event of each kind (its sg_event_ids are all "sg_event_id": told apart here).
SENDGRID_EXAMPLE = [
    sendgrid("processed"), sendgrid("deferred", response="400 try again later", attempt="5"),
    sendgrid("delivered", response="250 OK"),
    sendgrid("open", useragent="Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)", ip="255.255.255.255"),
    sendgrid("click", useragent="Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)", ip="255.255.255.255",
             url="http://www.sendgrid.com/"),
    sendgrid("bounce", reason="500 unknown recipient", status="5.0.0", type="bounce"),
    sendgrid("dropped", reason="Bounced Address", status="5.0.0"),
    sendgrid("spamreport"), sendgrid("unsubscribe"),
    sendgrid("group_unsubscribe", useragent="Mozilla/4.0", ip="255.255.255.255", url="http://www.sendgrid.com/", asm_group_id=10),
    sendgrid("group_resubscribe", useragent="Mozilla/4.0", ip="255.255.255.255", url="http://www.sendgrid.com/", asm_group_id=10),
]


def refusal(body: Any) -> InvalidEvents:
    with pytest.raises(InvalidEvents) as caught:
        parse_events(body)
    return caught.value


# --- the generic format ------------------------------------------------------------------------------------------

def test_generic_events_as_a_list_or_one_object() -> None:
    parsed = parse_events([
        {"type": "bounce", "message_id": "<offer-12.retention@example.com>", "bounce_type": "soft", "event_id": "e-1"},
        {"type": "complaint", "email": " Ann.Lee@Example.COM "},
        {"type": "delivered", "message_id": "offer-13.retention@example.com", "email": "bo@example.com"},
    ])
    assert parsed.events[0] == MailEvent("generic", "e-1", "bounce", "", "offer-12.retention@example.com", "soft")
    complaint = parsed.events[1]
    assert (complaint.type, complaint.email, complaint.bounce_type) == ("complaint", "ann.lee@example.com", None)
    assert parsed.events[2].message_id == "offer-13.retention@example.com"  # with or without the brackets, one id
    assert parse_events({"type": "bounce", "email": "a@example.com"}).events[0].bounce_type == "hard"  # unsaid is hard


def test_a_generic_event_without_an_id_gets_one_from_its_content() -> None:
    first = parse_events([{"type": "bounce", "email": "a@example.com", "at": 1}]).events[0].event_id
    again = parse_events([{"at": 1, "email": "a@example.com", "type": "bounce"}]).events[0].event_id
    other = parse_events([{"type": "bounce", "email": "a@example.com", "at": 2}]).events[0].event_id
    assert first == again != other and first.startswith("sha256:")


@pytest.mark.parametrize("item, field", [
    ({"type": "open", "email": "a@example.com"}, "type"),
    ({"email": "a@example.com"}, "type"),
    ({"type": "bounce"}, "message_id"),
    ({"type": "bounce", "email": "not an address"}, "email"),
    ({"type": "bounce", "email": "a@example.com", "bounce_type": "transient"}, "bounce_type"),
    ({"type": "bounce", "email": ["a@example.com"]}, "email"),
    ({"type": "delivered", "message_id": "x" * 999}, "message_id"),
    ({"type": "delivered", "email": "a@example.com", "event_id": 7}, "event_id"),
    ("bounce", "item"),
])
def test_a_bad_generic_item_refuses_the_whole_list_naming_its_index_and_field(item: Any, field: str) -> None:
    refused = refusal([{"type": "delivered", "email": "ok@example.com"}, item])
    assert refused.status == 422
    assert [(d["index"], d["field"]) for d in refused.details] == [(1, field)]


def test_deeply_nested_values_are_refused_not_crashed_on() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert refusal([{"type": deep, "email": "a@example.com"}]).details[0]["field"] == "type"
    assert refusal([{"type": "bounce", "email": "a@example.com", "extra": deep}]).details[0]["message"] == "is nested too deeply"
    assert refusal({"notificationType": "Delivery", "mail": deep}).status == 422  # raw SES: its id is its content's hash


def test_too_many_events_or_a_body_of_the_wrong_shape_is_refused() -> None:
    too_many = refusal([{"type": "delivered", "email": "a@example.com"}] * (MAX_EVENTS + 1))
    assert (too_many.status, too_many.code) == (413, "too_many_events")
    for body in ("bounce", 3, None, True):
        assert refusal(body).status == 422


# --- Amazon SES, through SNS ---------------------------------------------------------------------------------------

def test_an_ses_bounce_through_sns_is_one_hard_bounce_with_our_message_id() -> None:
    parsed = parse_events(sns(SES_BOUNCE_WITH_DSN))
    assert parsed.events == [MailEvent("ses", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "bounce", "jane@example.com",
                                       "custom-message-ID", "hard")]


def test_a_bounce_for_two_recipients_is_two_events_and_transient_is_soft() -> None:
    transient = {**SES_BOUNCE_WITHOUT_DSN, "bounce": {**SES_BOUNCE_WITHOUT_DSN["bounce"], "bounceType": "Transient"}}
    events = parse_events(sns(transient, "m-2")).events
    assert [(e.event_id, e.email, e.bounce_type, e.message_id) for e in events] == [
        ("m-2#0", "jane@example.com", "soft", ""), ("m-2#1", "richard@example.com", "soft", "")]
    undetermined = {**SES_BOUNCE_WITHOUT_DSN, "bounce": {**SES_BOUNCE_WITHOUT_DSN["bounce"], "bounceType": "Undetermined"}}
    assert {e.bounce_type for e in parse_events(sns(undetermined)).events} == {"soft"}


def test_ses_complaints_and_deliveries() -> None:
    [complaint] = parse_events(sns(SES_COMPLAINT)).events
    assert (complaint.type, complaint.email, complaint.message_id) == ("complaint", "richard@example.com", "custom-message-ID")
    [delivery] = parse_events(sns(SES_DELIVERY)).events
    assert (delivery.type, delivery.email) == ("delivered", "jane@example.com")
    not_spam = {**SES_COMPLAINT, "complaint": {**SES_COMPLAINT["complaint"], "complaintFeedbackType": "not-spam"}}
    assert parse_events(sns(not_spam)).ignored == 1


def test_configuration_set_events_raw_delivery_and_kinds_we_do_not_use() -> None:
    published = {k: v for k, v in SES_BOUNCE_WITH_DSN.items() if k != "notificationType"} | {"eventType": "Bounce"}
    assert parse_events(sns(published)).events[0].type == "bounce"
    raw = parse_events(SES_DELIVERY)  # SNS "raw message delivery": the SES JSON itself
    assert raw.events[0].provider == "ses" and raw.events[0].event_id.startswith("sha256:")
    for kind in ("Send", "Open", "Click", "DeliveryDelay"):
        assert parse_events(sns({"eventType": kind, "mail": SES_MAIL})).ignored == 1
    succeeded = {"notificationType": "AmazonSnsSubscriptionSucceeded",
                 "message": "You have successfully subscribed your Amazon SNS topic 'arn:aws:sns:us-west-2:123456789012:"
                            "MyTopic' to receive 'Bounce' notifications from Amazon SES for identity 'example.com'."}
    assert parse_events(sns(succeeded)).ignored == 1


def test_our_message_id_is_read_from_the_original_headers_however_spelled() -> None:
    folded = {**SES_MAIL, "headers": [{"name": ["odd"], "value": "x"},
                                      {"name": "Message-Id", "value": "\r\n <offer-7.retention@example.com>"}]}
    assert parse_events(sns({**SES_DELIVERY, "mail": folded})).events[0].message_id == "offer-7.retention@example.com"
    common_only = {k: v for k, v in SES_MAIL.items() if k != "headers"}
    assert parse_events(sns({**SES_DELIVERY, "mail": common_only})).events[0].message_id == "custom-message-ID"


def test_a_subscription_confirmation_is_noted_never_followed() -> None:
    parsed = parse_events(SNS_SUBSCRIPTION)
    assert parsed.events == [] and "confirm" in parsed.note
    assert parsed.confirm_url == SNS_SUBSCRIPTION["SubscribeURL"]


@pytest.mark.parametrize("body, field", [
    (sns("Hello world!"), "Message"),  # SNS's own example message: not an SES notification
    (sns([1, 2]), "Message"),
    ({**sns(SES_DELIVERY), "Type": "Telegram"}, "Type"),
    ({k: v for k, v in sns(SES_DELIVERY).items() if k != "MessageId"}, "MessageId"),
    (sns({**SES_BOUNCE_WITH_DSN, "bounce": {"bounceType": "Permanent"}}), "Message.bounce.bouncedRecipients"),
    (sns({**SES_DELIVERY, "delivery": "jane@example.com"}), "Message.delivery"),
])
def test_a_bad_sns_message_is_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    refused = refusal(body)
    assert refused.status == 422 and refused.details[0]["field"] == field


# --- SendGrid ------------------------------------------------------------------------------------------------------

def test_sendgrids_example_batch_keeps_what_we_act_on_and_ignores_the_rest() -> None:
    parsed = parse_events(SENDGRID_EXAMPLE)
    assert [(e.type, e.bounce_type) for e in parsed.events] == [
        ("delivered", None), ("bounce", "hard"), ("bounce", "hard"), ("complaint", None)]
    assert parsed.ignored == 7  # processed, deferred, open, click, unsubscribe, group_(un|re)subscribe
    assert {(e.provider, e.email, e.message_id) for e in parsed.events} == {
        ("sendgrid", "example@test.com", "14c5d75ce93.dfd.64b469@ismtpd-555")}
    assert parsed.events[0].event_id == "sg_event_id-delivered"


def test_sendgrid_blocks_are_soft_and_drops_count_only_for_the_address() -> None:
    blocked = sendgrid("bounce", reason="unable to get mx info", type="blocked", bounce_classification="Unclassified")
    assert parse_events([blocked]).events[0].bounce_type == "soft"
    assert parse_events([sendgrid("bounce", reason="450 mailbox busy", status="4.2.1")]).events[0].bounce_type == "soft"
    spam = parse_events([sendgrid("dropped", reason="Spam Reporting Address")]).events
    assert [e.type for e in spam] == ["complaint"]
    for reason in ("Spam Content", "Unsubscribed Address", "Invalid SMTPAPI header"):
        assert parse_events([sendgrid("dropped", reason=reason)]).ignored == 1


def test_an_older_sendgrid_batch_without_event_ids_and_with_a_bad_address() -> None:
    # From SendGrid's 2014 batch example: a drop for "not an email address", and no sg_event_id.
    dropped = {"email": "not an email address", "smtp-id": "<4FB29F5D.5080404@sendgrid.com>", "timestamp": 1386636115,
               "reason": "Invalid", "event": "dropped", "category": ["category1", "category2"], "id": "001"}
    [event] = parse_events([dropped]).events
    assert (event.email, event.message_id, event.bounce_type) == ("", "4FB29F5D.5080404@sendgrid.com", "hard")
    assert event.event_id.startswith("sha256:")
    assert parse_events([{**dropped, "smtp-id": None}]).ignored == 1  # no address, no Message-ID: nothing to act on


def test_a_sendgrid_event_of_the_wrong_shape_is_refused() -> None:
    refused = refusal([sendgrid("delivered"), {**sendgrid("bounce"), "email": 42}, {"event": None}])
    assert [(d["index"], d["field"]) for d in refused.details] == [(1, "email"), (2, "event")]


# --- the rules the events apply ------------------------------------------------------------------------------------

@pytest.mark.parametrize("current, new, moves", [
    (None, "delivered", True), ("sent", "delivered", True), ("delivered", "delivered", False),
    ("bounced", "delivered", False), ("complained", "delivered", False),
    ("sent", "bounced", True), ("delivered", "bounced", True), ("complained", "bounced", False),
    (None, "complained", True), ("delivered", "complained", True), ("bounced", "complained", True),
])
def test_a_delivery_status_only_moves_forward(current: str | None, new: str, moves: bool) -> None:
    assert replaces(current, new) is moves


def test_the_webhook_role_is_a_tokens_outside_the_ladder() -> None:
    assert not at_least(WEBHOOK, "viewer")
    assert may_call(WEBHOOK, "marketer", frozenset({WEBHOOK})) and not may_call(WEBHOOK, "viewer")
    assert may_call("admin", "marketer", frozenset({WEBHOOK})) and not may_call("viewer", "marketer", frozenset({WEBHOOK}))
    assert checked_token_role(WEBHOOK) == WEBHOOK
    with pytest.raises(InvalidRole, match="for API tokens only"):
        checked_user_role(WEBHOOK)
