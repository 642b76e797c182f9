"""The mail guardrail's line (DESIGN §12), exactly: at least 100 sends, then a hard-bounce rate of 5 % or a
complaint rate of 0.1 % pauses; one send fewer, or one bounce or complaint fewer, does not."""
from __future__ import annotations

import pytest

from marketing_service.offers.guardrails import breach
from marketing_service.offers.mail_counts import MailCounts


@pytest.mark.parametrize(("counts", "reason"), [
    (MailCounts(sent=100, bounced=5), "hard-bounce rate 5.0 % ≥ 5 % after 100 sends"),
    (MailCounts(sent=120, bounced=6, delivered=114), "hard-bounce rate 5.0 % ≥ 5 % after 120 sends"),
    (MailCounts(sent=125, bounced=9), "hard-bounce rate 7.2 % ≥ 5 % after 125 sends"),
    (MailCounts(sent=1000, complained=1), "complaint rate 0.10 % ≥ 0.1 % after 1000 sends"),
    (MailCounts(sent=100, bounced=5, complained=1),
     "hard-bounce rate 5.0 % ≥ 5 % and complaint rate 1.00 % ≥ 0.1 % after 100 sends"),
])
def test_at_or_over_the_line_after_100_sends_pauses_and_says_why(counts: MailCounts, reason: str) -> None:
    assert breach(counts) == reason
    assert breach(counts, since_resume=True) == reason + " since it was resumed"


@pytest.mark.parametrize("counts", [
    MailCounts(sent=99, bounced=99),  # fewer than 100 sends: no rate is trusted yet
    MailCounts(sent=99, complained=5),
    MailCounts(sent=100, bounced=4, delivered=96),
    MailCounts(sent=101, bounced=5),  # 4.95 %
    MailCounts(sent=1001, complained=1),  # 0.0999 %
    MailCounts(),
])
def test_under_the_line_or_under_100_sends_goes_on(counts: MailCounts) -> None:
    assert breach(counts) is None


def test_rates_are_null_before_anything_is_sent() -> None:
    assert MailCounts().as_dict() == {"sent": 0, "delivered": 0, "bounced": 0, "complained": 0,
                                      "bounce_rate": None, "complaint_rate": None}
    assert MailCounts(sent=200, bounced=3, complained=1).as_dict()["bounce_rate"] == 0.015

