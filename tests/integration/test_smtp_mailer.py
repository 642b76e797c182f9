"""The smtp mailer hands each offer to a real SMTP server (aiosmtpd), once."""
from __future__ import annotations

import email
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import Gunicorn, Marketing, free_port
from tests.samples import LIKELY_CHURNER


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def sent(marketing: Marketing) -> bool:
    return [o["status"] for o in marketing.http.get(f"{marketing.url}/api/offers", timeout=5).json()["offers"]] == ["sent"]


def test_smtp_mailer_delivers_the_offer_to_a_real_server(churn: Gunicorn, tmp_path: Path, smtp_server) -> None:
    inbox, port = smtp_server
    extra = {"MAILER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
             "MAIL_FROM": "Offers <offers@telco.example>"}
    with Marketing(tmp_path, churn.url, extra) as marketing:
        record = dict(LIKELY_CHURNER, customerid="S-1", email="sam@example.com", name="Sam Green")
        assert marketing.http.post(f"{marketing.url}/api/customers", json=record, timeout=10).status_code == 200
        deadline = time.monotonic() + 15
        while not (inbox.messages and sent(marketing)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(inbox.messages) == 1  # and the offer is marked sent: no later tick sends it again
        mail_from, rcpt_tos, content = inbox.messages[0]
        assert mail_from == "offers@telco.example" and rcpt_tos == ["sam@example.com"]
        message = email.message_from_bytes(content)
        assert message["Subject"].endswith("Sam Green") and "Dear Sam Green," in message.get_payload()
        assert marketing.emails() == []  # smtp mode writes no .eml files
        offers = marketing.http.get(f"{marketing.url}/api/offers", timeout=5).json()["offers"]
        assert [o["status"] for o in offers] == ["sent"]


def test_smtp_down_marks_the_offer_failed_then_delivers_when_it_is_back(churn: Gunicorn, tmp_path: Path) -> None:
    port = free_port()
    extra = {"MAILER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
    with Marketing(tmp_path, churn.url, extra) as marketing:
        record = dict(LIKELY_CHURNER, customerid="S-2", email="sue@example.com", name="Sue")
        assert marketing.http.post(f"{marketing.url}/api/customers", json=record, timeout=10).status_code == 200
        deadline = time.monotonic() + 10
        status = None
        while status != "failed" and time.monotonic() < deadline:
            status = marketing.http.get(f"{marketing.url}/api/offers", timeout=5).json()["offers"][0]["status"]
            time.sleep(0.1)
        assert status == "failed"
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            deadline = time.monotonic() + 20
            while not inbox.messages and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(inbox.messages) == 1
        finally:
            controller.stop()
