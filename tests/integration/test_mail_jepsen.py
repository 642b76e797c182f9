"""DESIGN §12 checked the way Jepsen checks a set: 2,000 offers sent through a fault-injecting SMTP server
(harness/fault_smtp.py) while marketing workers are killed with SIGKILL at random moments, then, once nothing
is left to send, the ledger of offers written against every message the server took (harness/mail_ledger.py):
none lost, none unexpected, and no copy beyond the first that the offer's ambiguous count does not explain.
`python -m bench mail` runs the same at 100,000 offers. Below it, the nemesis and the checker are checked
themselves: each fault does what it says, and a sender with issue 27's double send is caught."""
from __future__ import annotations

import logging
import smtplib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from harness.fault_smtp import Faults, FaultSmtp
from harness.mail_chaos import SEND_DEADLINE_S, WorkerKiller, marketing_env, metric, post_customers, wait_quiescent
from harness.mail_ledger import Offer, check, check_db
from tests.helpers import Gunicorn, Marketing, count
from tests.samples import LIKELY_CHURNER

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)
OFFERS = 2_000
# Every fault of §12, often enough to happen many times in 2,000 offers; a stall costs a worker a whole send
# deadline, so those are rare.
FAULTS = Faults(stall=0.001, stall_s=SEND_DEADLINE_S + 1, seed=27)
NONE = Faults(drop_after_data=0, temporary=0, disconnect=0, slow=0, stall=0, quit_error=0, hard_bounce=0)
SENDER = "offers@retention.example"
log = logging.getLogger(__name__)


def test_every_offer_arrives_and_only_ambiguous_sends_arrive_twice(churn: Gunicorn, tmp_path: Path,
                                                                   new_db: Callable[..., str]) -> None:
    smtp = FaultSmtp(FAULTS)
    marketing = Marketing(tmp_path, churn.url, marketing_env(smtp), workers=3, db=new_db())
    with smtp, marketing:
        started = time.monotonic()
        killer = WorkerKiller(marketing, pause_s=(0.5, 2.5), seed=27).start()
        try:
            post_customers(marketing.url, marketing.http, LIKELY_CHURNER, OFFERS, "JEPSEN")
            wait_quiescent(marketing.db, timeout=240)
        finally:
            kills = killer.stop()
        wait_quiescent(marketing.db, timeout=60)  # a last kill may have left a claimed offer: its lease lapses first
        elapsed = time.monotonic() - started
        server = smtp.log()
        report = check_db(marketing.db, server.received(), server.bounced)
        ambiguous_metric = metric(marketing.url)
        summary = (f"{elapsed:.0f}s, {kills} workers killed, {server.attempts} SMTP attempts, faults "
                   f"{dict(sorted(server.faults.items()))}; {len(server.accepted)} accepted + {len(server.dropped)} "
                   f"taken unanswered; marketing_mail_ambiguous_total {ambiguous_metric}\n{report.format()}")
        log.info("%s", summary)

        assert count(marketing.db, "SELECT COUNT(*) FROM offers") == OFFERS == report.offers, summary
        assert kills >= 3, f"too few kills to mean anything: {summary}"
        for kind in ("drop_after_data", "quit_421", "quit_drop", "bounce_550_rcpt"):
            assert server.faults[kind] > 0, f"no {kind} fault was injected: {summary}"
        assert report.lost == 0, summary
        assert report.unexpected == 0, summary
        assert report.duplicated_not_ambiguous == 0, summary
        assert report.received_not_sent == 0, summary  # §12: sent at the 250, whatever QUIT does
        assert report.refused == len(server.bounced), summary  # each refused address: one offer, failed/bounced
        # Ambiguous sends: a message taken but unanswered (a drop or a stall after the final dot) is one each; a
        # kill adds at most one (the attempt its worker had started) or takes one away (killed before counting).
        assert len(server.dropped) - kills <= report.ambiguous_total <= len(server.dropped) + kills, summary
        assert report.extra_copies <= report.ambiguous_total, summary
        # The counter is read from the outbox at scrape time (web/mail_metrics.py), so kills lose none of it.
        assert ambiguous_metric == report.ambiguous_total, f"marketing_mail_ambiguous_total: {summary}"


# The nemesis and the checker checked first: each fault, forced on every attempt, does to a plain SMTP client
# what it says, and the server's log keeps exactly what it took.

def message_id(n: int) -> str:
    return f"<offer-{n}.retention@example.com>"


def message(n: int) -> bytes:
    return (f"From: {SENDER}\r\nTo: c{n}@example.com\r\nMessage-ID: {message_id(n)}\r\nSubject: An offer\r\n\r\n"
            "Dear customer,\r\n").encode()


def attempt(smtp: FaultSmtp, n: int, timeout: float = 2.0) -> str:
    """One attempt as a careful client sees it: the reply or failure that ended it, and then what QUIT did."""
    client, stage = smtplib.SMTP(timeout=timeout), "connect"
    try:
        client.connect(smtp.host, smtp.port)
        client.ehlo()
        for stage, command, wanted in (("MAIL", lambda: client.mail(SENDER), 250),
                                       ("RCPT", lambda: client.rcpt(f"c{n}@example.com"), 250),
                                       ("DATA", lambda: client.docmd("DATA"), 354)):
            code = command()[0]
            if code != wanted:
                return f"{code} at {stage}"
        stage = "end of DATA"
        client.send(message(n) + b".\r\n")
        code = client.getreply()[0]
        if code != 250:
            return f"{code} at end of DATA"
        stage = "QUIT"
        return f"250, QUIT {client.docmd('QUIT')[0]}"
    except (OSError, smtplib.SMTPException):
        return "250, QUIT lost" if stage == "QUIT" else f"lost at {stage}"
    finally:
        client.close()


@pytest.mark.parametrize(("faults", "outcomes", "taken"), [
    (NONE, {"250, QUIT 221"}, "accepted"),
    (replace(NONE, drop_after_data=1), {"lost at end of DATA"}, "dropped"),
    (replace(NONE, temporary=1), {f"{code} at {stage}" for code in (421, 450)
                                  for stage in ("MAIL", "RCPT", "end of DATA")}, ""),
    (replace(NONE, disconnect=1), {"lost at MAIL", "lost at RCPT"}, ""),
    (replace(NONE, quit_error=1), {"250, QUIT 421", "250, QUIT lost"}, "accepted"),
    (replace(NONE, hard_bounce=1), {"550 at RCPT"}, ""),
    (replace(NONE, slow=1, slow_s=0.02), {"250, QUIT 221"}, "accepted"),
], ids=["none", "drop_after_data", "temporary", "disconnect", "quit_error", "hard_bounce", "slow"])
def test_each_fault_does_what_it_says_and_the_log_keeps_what_was_taken(faults: Faults, outcomes: set[str],
                                                                       taken: str) -> None:
    with FaultSmtp(faults) as smtp:
        seen = Counter(attempt(smtp, n) for n in range(60))
        server = smtp.log()
    assert set(seen) == outcomes, seen  # and every variant of the fault happened in 60 attempts
    ids = {"accepted": [r.message_id for r in server.accepted], "dropped": [r.message_id for r in server.dropped]}
    for kind, kept in ids.items():
        assert sorted(kept) == (sorted(message_id(n) for n in range(60)) if kind == taken else []), kind
    assert server.attempts == 60 and sum(server.faults.values()) == (0 if faults == NONE else 60)
    assert server.bounced == ({f"c{n}@example.com" for n in range(60)} if faults.hard_bounce else set())


def test_a_stall_outlasts_the_client_and_one_after_the_final_dot_counts_as_taken() -> None:
    with FaultSmtp(replace(NONE, stall=1, stall_s=2.0)) as smtp:
        seen = Counter(attempt(smtp, n, timeout=0.3) for n in range(8))
        server = smtp.log()
    assert set(seen) <= {"lost at MAIL", "lost at end of DATA"} and sum(seen.values()) == 8, seen
    assert len(server.dropped) == seen["lost at end of DATA"] == server.faults["stall_data"] and not server.accepted


def test_the_checker_catches_a_sender_that_sends_again_after_an_error_at_quit() -> None:
    """Issue 27's double send: smtplib's `with` block raises on a 421 to QUIT, after the 250 to DATA, and a
    sender that takes that for a failure sends the offer again. The checker must call those copies unexplained."""
    offers = []
    with FaultSmtp(replace(NONE, quit_error=0.5)) as smtp:
        for n in range(40):
            attempts = 0
            while attempts < 5:
                attempts += 1
                try:
                    with smtplib.SMTP(smtp.host, smtp.port, timeout=2) as client:
                        client.sendmail(SENDER, [f"c{n}@example.com"], message(n))
                    break
                except (OSError, smtplib.SMTPException):
                    continue
            offers.append(Offer(n, message_id(n), f"c{n}@example.com", "sent", "sent", 0, attempts))
        report = check(offers, smtp.log().received())
    assert report.lost == report.unexpected == 0 and report.duplicated_not_ambiguous > 0, report.format()
