"""The retention offer a likely churner is emailed: concrete, personal, plain text."""
from __future__ import annotations

from typing import Any

# What we can afford to give depends on what keeps this kind of customer: the contract first.
OFFERS = {
    "month-to-month": (
        "3 months free",
        "switch to a one-year contract this month and your next 3 monthly bills are on us",
    ),
    "one_year": (
        "20% off for a year",
        "renew for another year and we take 20% off your monthly charge for all 12 months",
    ),
    "two_year": (
        "a free upgrade",
        "keep your two-year plan and we upgrade your service tier at no extra cost",
    ),
}


def _months(n: int) -> str:
    return "less than a month" if n == 0 else f"{n} month{'s' if n != 1 else ''}"


def compose_offer(name: str, features: dict[str, Any], probability: float) -> tuple[str, str]:
    """Subject and body of the offer email for one customer."""
    headline, detail = OFFERS.get(features.get("contract", ""), OFFERS["month-to-month"])
    greeting = f"Dear {name}," if name else "Dear customer,"
    extras = []
    if features.get("internetservice") == "fiber_optic" and features.get("techsupport") == "no":
        extras.append("We will also add free premium tech support to your fibre line.")
    if features.get("paymentmethod") == "electronic_check":
        extras.append("Switch to automatic payment and we waive the monthly payment fee.")
    monthly = float(features.get("monthlycharges", 0))
    body = "\n".join([
        greeting,
        "",
        f"Thank you for being with us for {_months(int(features.get('tenure', 0)))}. We would like to keep you,",
        f"so here is {headline}: {detail}.",
        *([""] + extras if extras else []),
        "",
        f"On your current plan of {monthly:.2f} a month, that is real money back in your pocket.",
        "Just reply to this email or call us, and we will set it up the same day.",
        "",
        "Warm regards,",
        "The Customer Care Team",
    ])
    return f"{headline.capitalize()} for you, {name or 'valued customer'}", body + "\n"
