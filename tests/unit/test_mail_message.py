"""An offer email written directly is byte for byte what the standard library's EmailMessage writes, for
every kind of value the direct way accepts; anything else is written by EmailMessage and reads back as sent."""
from __future__ import annotations

import email
import email.policy
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from marketing_service.mail.message import _headers, _plain, _through_email_message, render
from marketing_service.offers.message_ids import message_id

DATE, MESSAGE_ID = "Mon, 30 Nov 2026 00:23:14 +0000", "<179.6856.661.offer-7-retention@churn.local>"
URL = "http://marketing.test/unsubscribe/t0k3n?sig=ab%2Fcd"
printable = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF, exclude_categories=("Cs",)), max_size=60)
ascii_words = st.from_regex(r"[\x20-\x7e]{0,80}", fullmatch=True)
addresses = st.one_of(st.emails(), st.sampled_from(["ann@example.com", "a..b@example.com", "x+y@mail.example.org"]))
senders = st.sampled_from(["offers@example.com", "Offers <offers@example.com>", '"Care, Team" <care@example.com>',
                           "Équipe <equipe@example.com>", "x" * 990 + " <a@b.c>"])


def offer(subject: str, to: str, body: str) -> dict[str, object]:
    return {"id": 7, "campaign": "retention", "to_addr": to, "subject": subject, "body": body,
            "message_id": "<offer-7.retention@example.com>"}


@settings(max_examples=400, deadline=None)
@given(subject=st.one_of(ascii_words, printable), to=addresses, sender=senders,
       body=st.one_of(ascii_words, printable, st.from_regex(r"[\x00-\x7f]{0,300}", fullmatch=True),
                      st.text(alphabet="ab \n", max_size=2000)))
def test_written_directly_it_is_what_email_message_writes(subject: str, to: str, sender: str, body: str) -> None:
    headers = _headers(offer(subject, to, body), sender, URL, DATE, MESSAGE_ID)
    direct = _plain(headers, body, sender)
    if direct is not None:
        assert direct == _through_email_message(headers, body)


def test_a_plain_offer_is_written_directly() -> None:
    headers = _headers(offer("3 months free, Ann", "ann@example.com", "Dear Ann,\n\nHello.\n"),
                       "Offers <offers@example.com>", URL, DATE, MESSAGE_ID)
    assert _plain(headers, "Dear Ann,\n\nHello.\n--\nbye\n", "Offers <offers@example.com>") is not None


def test_an_offer_with_accents_reads_back_as_it_was_sent() -> None:
    mail = render(offer("Un cadeau pour vous, Zoë", "zoe@example.com", "Chère Zoë,\n\nMerci.\n"),
                  "Équipe <equipe@example.com>", URL)
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert message["Subject"] == "Un cadeau pour vous, Zoë" and message["To"] == "zoe@example.com"
    assert message.get_content().startswith("Chère Zoë,\n\nMerci.\n")
    assert (mail.sender, mail.recipient) == ("equipe@example.com", "zoe@example.com")
    assert message["List-Unsubscribe"] == f"<{URL}>" and message["Message-ID"] == "<offer-7.retention@example.com>"


# RFC 5322 3.6.4: msg-id = "<" id-left "@" id-right ">", both dot-atom-text here (no obsolete or quoted forms).
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
MSG_ID = re.compile(rf"<{ATEXT}(?:\.{ATEXT})*@{ATEXT}(?:\.{ATEXT})*>")


@given(campaign=st.text(max_size=200), offer_id=st.integers(min_value=1, max_value=2**63 - 1))
def test_every_campaign_name_gives_a_valid_message_id(campaign: str, offer_id: int) -> None:
    made = message_id(offer_id, campaign, "mail.example.com")
    assert MSG_ID.fullmatch(made), made
    assert made.startswith(f"<offer-{offer_id}.") and made.endswith("@mail.example.com>")
    parsed = email.message_from_bytes(f"Message-ID: {made}\n\nx\n".encode(), policy=email.policy.default)
    assert parsed["Message-ID"] == made and not parsed["Message-ID"].defects


def test_names_with_spaces_and_accents_read_well_in_the_message_id() -> None:
    assert message_id(12, "Rétention d'été 2026", "example.com") == "<offer-12.retention-d-ete-2026@example.com>"
    assert message_id(3, "名前 キャンペーン", "example.com") == "<offer-3.offer@example.com>"
