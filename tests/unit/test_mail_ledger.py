"""The mail checker's counts (harness/mail_ledger.py), on ledgers and received logs made by hand."""
from __future__ import annotations

from harness.mail_ledger import Offer, check


def offer(n: int, status: str = "sent", delivery: str | None = "sent", ambiguous: int = 0) -> Offer:
    return Offer(n, f"<offer-{n}.retention@example.com>", f"c{n}@example.com", status, delivery, ambiguous, 1)


def mid(n: int) -> str:
    return f"<offer-{n}.retention@example.com>"


def test_every_offer_received_once_is_clean() -> None:
    report = check([offer(1), offer(2)], [mid(2), mid(1)])
    assert report.ok and (report.offers, report.expected, report.delivered, report.copies) == (2, 2, 2, 2)
    assert report.lost == report.extra_copies == report.unexpected == report.received_not_sent == 0


def test_an_offer_never_received_is_lost_whatever_its_status_says() -> None:
    report = check([offer(1), offer(2), offer(3, "failed", None)], [mid(1)])
    assert report.lost == 2 and not report.ok
    assert report.lost_by_status == {"sent/sent": 1, "failed/None": 1}
    assert report.examples["lost"] == [mid(2), mid(3)]


def test_extra_copies_are_ambiguous_only_as_far_as_the_offers_ambiguous_count_goes() -> None:
    offers = [offer(1, ambiguous=1), offer(2), offer(3, ambiguous=1), offer(4, ambiguous=3)]
    report = check(offers, [mid(1)] * 2 + [mid(2)] * 2 + [mid(3)] * 3 + [mid(4)] * 2)
    assert (report.duplicated_ambiguous, report.duplicated_not_ambiguous) == (2, 2)
    assert report.extra_copies == 1 + 1 + 2 + 1 and report.ambiguous_total == 5
    assert report.examples["duplicated, not ambiguous"] == [mid(2), mid(3)]


def test_unknown_message_ids_and_refused_offers_that_arrive_are_unexpected() -> None:
    refused = offer(2, "failed", "bounced")
    report = check([offer(1), refused], [mid(1), mid(2), "<stranger@example.com>", ""])
    assert report.unexpected == 3 and report.refused == 1 and report.expected == 1 and report.lost == 0
    assert report.examples["unknown Message-ID"] and report.examples["refused yet received"] == [mid(2)]


def test_an_offer_marked_bounced_for_an_address_the_server_never_refused_is_lost() -> None:
    offers = [offer(1, "failed", "bounced"), offer(2, "failed", "bounced")]
    report = check(offers, [], refusing={"c1@example.com"})
    assert report.refused == 1 and report.lost == 1 and report.lost_by_status == {"failed/bounced": 1}


def test_a_received_offer_left_failed_or_queued_is_counted() -> None:
    report = check([offer(1, "failed", None), offer(2, "queued", None), offer(3)], [mid(1), mid(2), mid(3)])
    assert report.received_not_sent == 2 and report.ok  # the set property holds; the sender's own view is wrong


def test_the_format_gives_the_counts_and_examples() -> None:
    text = check([offer(1), offer(2)], [mid(1), mid(1), "<x@y>"]).format()
    assert "lost 1" in text and "0 ambiguous + 1 not ambiguous" in text and "unexpected 1" in text
    assert f"lost: {mid(2)}" in text and "unknown Message-ID: <x@y>" in text
