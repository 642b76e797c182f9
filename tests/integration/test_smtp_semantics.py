"""DESIGN §12's SMTP semantics against a server that misbehaves on cue (scripted_smtp.py): the delivery code
of a worker (deliver_due) on a real SQLite file, one case at a time; then the whole service for the metric.

sent at the 250 whatever QUIT does; 4xx and lost connections retried with backoff under one Message-ID up to
MAIL_MAX_ATTEMPTS; 5xx final, and 550/551/553 at RCPT a hard bounce that suppresses the address; a reply lost
after the final dot retried and counted ambiguous; one deadline for a whole send; a crash mid-send counted
ambiguous by the next claim; MAIL_RATE_PER_MINUTE spreads sends out.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketing_service.churn_client import Score
from marketing_service.customers.decisions import decide, save_customers
from marketing_service.customers.records import parse_customer
from marketing_service.mail import outbox
from marketing_service.mail.delivery import DeliveryPolicy, deliver_due
from marketing_service.mail.links import Links
from marketing_service.mail.pacing import Pacer
from marketing_service.mail.smtp import SmtpMailer
from marketing_service.offers.rules import OfferRules
from marketing_service.storage import Connection
from marketing_service.storage.sqlite import connect, init_db
from tests.helpers import Gunicorn, Marketing, customer, wait_for
from tests.integration.scripted_smtp import DROP, Script, ScriptedSmtp, header
from tests.samples import LIKELY_CHURNER

LINKS = Links(["k"], "http://marketing.test")
POLICY = DeliveryPolicy("Offers <offers@telco.example>", "telco.example", max_attempts=4, backoff_s=0.01)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    init_db(tmp_path / "m.db")
    connection = connect(tmp_path / "m.db")
    yield connection
    connection.close()


def offers(conn: Connection, n: int, campaign: str = "Rétention d'été") -> None:
    people = [parse_customer(dict(LIKELY_CHURNER, customerid=f"C-{i}", email=f"c{i}@example.com")) for i in range(n)]
    save_customers(conn, people, OfferRules(campaign, 0, "telco.example"),
                   [decide(c.customerid, c.name, c.features, Score(0.9, True, "v1")) for c in people])


def deliver_until_settled(conn: Connection, mailer: SmtpMailer, policy: DeliveryPolicy = POLICY) -> None:
    """Passes of the background loop until no offer waits for an attempt (backoffs are milliseconds here)."""
    def settled() -> bool:
        deliver_due(conn, mailer, policy, lease_s=30, links=LINKS)
        return not conn.execute("SELECT COUNT(*) FROM offers WHERE status != 'sent' AND next_attempt_at < ?",
                                (outbox.FINAL,)).fetchone()[0]
    wait_for(settled, timeout=30, what="every offer sent or failed for good")


def offer_row(conn: Connection) -> dict:
    return dict(conn.execute("SELECT status, attempts, delivery_status, ambiguous, last_error, message_id,"
                             " attempt_started_at FROM offers").fetchone())


def scripted(*scripts: Script) -> ScriptedSmtp:
    """The scripts in order, one per connection, then well-behaved connections."""
    return ScriptedSmtp(itertools.chain(scripts, itertools.repeat(Script())))


def test_a_quit_that_fails_after_the_250_leaves_the_offer_sent_once(conn: Connection) -> None:
    offers(conn, 1)
    with scripted(Script({"QUIT": "421 going away"}), Script({"QUIT": DROP})) as server:
        mailer = SmtpMailer("127.0.0.1", server.port, timeout_s=2)
        deliver_until_settled(conn, mailer)
        row = offer_row(conn)
        assert (len(server.received), row["status"], row["attempts"], row["delivery_status"]) == (1, "sent", 1, "sent")
        assert header(server.received[0], "Message-ID") == row["message_id"] == "<offer-1.retention-d-ete@telco.example>"


@pytest.mark.parametrize("step", ["GREETING", "MAIL", "RCPT", "DATA", "END"])
def test_a_4xx_anywhere_is_retried_with_the_same_message_id(conn: Connection, step: str) -> None:
    offers(conn, 1)
    first, second = ("421 try later", "421 busy") if step == "GREETING" else ("451 try later", "450 busy")
    with scripted(Script({step: first}), Script({step: second})) as server:
        deliver_until_settled(conn, SmtpMailer("127.0.0.1", server.port, timeout_s=2))
        row = offer_row(conn)
        assert (row["status"], row["attempts"], row["ambiguous"]) == ("sent", 3, 0)
        arrived = [header(m, "Message-ID") for m in server.received]
        assert arrived == ([row["message_id"]] * 3 if step == "END" else [row["message_id"]])  # a 4xx at END: refused


def test_attempts_stop_at_mail_max_attempts(conn: Connection) -> None:
    offers(conn, 1)
    with scripted(*[Script({"RCPT": "452 mailbox busy"})] * 10) as server:
        deliver_until_settled(conn, SmtpMailer("127.0.0.1", server.port, timeout_s=2))
        row = offer_row(conn)
        assert (row["status"], row["attempts"], server.connections) == ("failed", POLICY.max_attempts, POLICY.max_attempts)
        assert "452" in row["last_error"] and row["delivery_status"] is None


@pytest.mark.parametrize("code", [550, 551, 553])
def test_a_dead_recipient_is_a_hard_bounce_that_suppresses_the_address(conn: Connection, code: int) -> None:
    offers(conn, 1)
    with scripted(Script({"RCPT": f"{code} no such user"})) as server:
        deliver_until_settled(conn, SmtpMailer("127.0.0.1", server.port, timeout_s=2))
        row = offer_row(conn)
        assert (row["status"], row["attempts"], row["delivery_status"], server.connections) == ("failed", 1, "bounced", 1)
        reason = conn.execute("SELECT reason FROM suppressions WHERE email = 'c0@example.com'").fetchone()
        assert reason is not None and reason[0] == "hard_bounce"


@pytest.mark.parametrize(("step", "code"), [("MAIL", 554), ("RCPT", 554), ("END", 554), ("END", 552)])
def test_any_other_5xx_is_final_and_suppresses_nothing(conn: Connection, step: str, code: int) -> None:
    offers(conn, 1)
    with scripted(Script({step: f"{code} refused"})) as server:
        deliver_until_settled(conn, SmtpMailer("127.0.0.1", server.port, timeout_s=2))
        row = offer_row(conn)
        assert (row["status"], row["attempts"], row["delivery_status"], server.connections) == ("failed", 1, None, 1)
        assert conn.execute("SELECT COUNT(*) FROM suppressions").fetchone()[0] == 0


def test_a_reply_lost_after_the_final_dot_is_retried_and_counted_ambiguous(conn: Connection) -> None:
    offers(conn, 1)
    with scripted(Script({"END": DROP})) as server:
        deliver_until_settled(conn, SmtpMailer("127.0.0.1", server.port, timeout_s=2))
        row = offer_row(conn)
        assert (row["status"], row["attempts"], row["ambiguous"]) == ("sent", 2, 1)
        assert [header(m, "Message-ID") for m in server.received] == [row["message_id"]] * 2  # the one double


def test_a_connection_lost_before_the_final_dot_is_not_ambiguous(conn: Connection) -> None:
    offers(conn, 1)
    with scripted(Script({"DATA": DROP}), Script({"RCPT": DROP})) as server:
        deliver_until_settled(conn, SmtpMailer("127.0.0.1", server.port, timeout_s=2))
        row = offer_row(conn)
        assert (row["status"], row["attempts"], row["ambiguous"], len(server.received)) == ("sent", 3, 0, 1)


def test_one_deadline_covers_the_whole_send(conn: Connection) -> None:
    """Each reply comes within any per-step timeout (0.3 s), but seven of them take 2.1 s: the send gives up
    at its 1 s deadline, well inside the lease, and the next attempt (a quick server) delivers."""
    offers(conn, 1)
    with scripted(Script(delay_s=0.3)) as server:
        mailer = SmtpMailer("127.0.0.1", server.port, timeout_s=1.0)
        began = time.monotonic()
        deliver_due(conn, mailer, POLICY, lease_s=30, links=LINKS)
        took = time.monotonic() - began
        row = offer_row(conn)
        assert row["status"] == "failed" and ("deadline" in row["last_error"] or "timed out" in row["last_error"]), row
        assert took < 2.0, took  # not the 2.1 s the slow server would have needed
        deliver_until_settled(conn, mailer)
        assert offer_row(conn)["status"] == "sent"


def test_an_attempt_a_crash_left_unfinished_is_retried_and_counted_ambiguous(conn: Connection) -> None:
    offers(conn, 1)
    token, _, [offer] = outbox.claim(conn, 10, lease_s=0.2)
    assert outbox.start_attempt(conn, offer, token)  # ... and the worker is killed mid-send
    wait_for(lambda: time.time() > offer_row(conn)["attempt_started_at"] + 0.3, what="the dead worker's lease to lapse")
    with scripted() as server:
        deliver_until_settled(conn, SmtpMailer("127.0.0.1", server.port, timeout_s=2))
        row = offer_row(conn)
        assert (row["status"], row["attempts"], row["ambiguous"], len(server.received)) == ("sent", 2, 1, 1)


def test_the_rate_spreads_sends_across_workers(conn: Connection, tmp_path: Path) -> None:
    """120 a minute is one every 0.5 s, shared by two workers' connections to the same database."""
    offers(conn, 5)
    other = connect(tmp_path / "m.db")
    policy = DeliveryPolicy(POLICY.mail_from, pacer=Pacer(120, instance="test"))
    with scripted() as server:
        mailer = SmtpMailer("127.0.0.1", server.port, timeout_s=2)
        for _ in range(10):
            if len(server.received) == 5:
                break
            deliver_due(conn, mailer, policy, lease_s=30, links=LINKS)
            deliver_due(other, mailer, policy, lease_s=30, links=LINKS)
        gaps = [b - a for a, b in itertools.pairwise(server.times)]
    other.close()
    # Slots are 0.5 s apart; the server sees each message a dialogue later, which a loaded machine stretches
    # unevenly: five sends span four slots (less one dialogue's jitter), and no two share a slot.
    assert len(server.received) == 5, gaps
    assert server.times[-1] - server.times[0] > 1.8 and min(gaps) > 0.25, gaps


def test_the_ambiguous_counter_is_on_metrics(churn: Gunicorn, tmp_path: Path) -> None:
    with scripted(Script({"END": DROP})) as server:
        extra = {"MAILER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port), "MAIL_BACKOFF_SECONDS": "0.05"}
        with Marketing(tmp_path, churn.url, extra) as marketing:
            answer = marketing.http.post(f"{marketing.url}/api/customers", json=customer(LIKELY_CHURNER, "AMB-1"), timeout=10)
            assert answer.status_code == 200
            wait_for(lambda: len(server.received) == 2, what="the retry after the lost reply")

            def counted() -> bool:
                text = marketing.http.get(f"{marketing.url}/metrics", timeout=5).text
                return "marketing_mail_ambiguous_total 1.0" in text
            wait_for(counted, what="marketing_mail_ambiguous_total 1")
