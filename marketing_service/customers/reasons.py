"""Churn's reasons (feature, value) in a marketer's words: "month-to-month contract", "fibre optic",
"1 month tenure". A pairing not listed here still reads sensibly ("payment method: mailed check")."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

WORDS: dict[tuple[str, str], str] = {
    ("contract", "month-to-month"): "month-to-month contract",
    ("contract", "one_year"): "one-year contract",
    ("contract", "two_year"): "two-year contract",
    ("internetservice", "fiber_optic"): "fibre optic",
    ("internetservice", "dsl"): "DSL internet",
    ("internetservice", "no"): "no internet service",
    ("paymentmethod", "electronic_check"): "pays by electronic check",
    ("paymentmethod", "mailed_check"): "pays by mailed check",
    ("paymentmethod", "bank_transfer_(automatic)"): "automatic bank transfer",
    ("paymentmethod", "credit_card_(automatic)"): "automatic credit card payment",
    ("paperlessbilling", "yes"): "paperless billing",
    ("paperlessbilling", "no"): "paper bills",
    ("seniorcitizen", "1"): "senior citizen",
    ("seniorcitizen", "0"): "not a senior citizen",
    ("partner", "no"): "no partner",
    ("partner", "yes"): "has a partner",
    ("dependents", "no"): "no dependents",
    ("dependents", "yes"): "has dependents",
    ("phoneservice", "no"): "no phone service",
    ("phoneservice", "yes"): "phone service",
    ("multiplelines", "yes"): "multiple lines",
}
SERVICES = {"onlinesecurity": "online security", "onlinebackup": "online backup", "deviceprotection": "device protection",
            "techsupport": "tech support", "streamingtv": "streaming TV", "streamingmovies": "streaming movies",
            "multiplelines": "multiple lines"}
LABELS = {"gender": "gender", "paymentmethod": "payment method", "internetservice": "internet"}


def _months(value: Any) -> str:
    months = int(round(float(value)))
    return f"{months} month{'s' if months != 1 else ''} tenure"


NUMBERS: dict[str, Callable[[Any], str]] = {
    "tenure": _months,
    "monthlycharges": lambda v: f"pays ${float(v):,.2f} a month",
    "totalcharges": lambda v: f"${float(v):,.0f} billed so far",
}


def phrase(feature: str, value: Any) -> str:
    if feature in NUMBERS:
        try:
            return NUMBERS[feature](value)
        except (TypeError, ValueError):
            pass
    text = str(value)
    if (feature, text) in WORDS:
        return WORDS[(feature, text)]
    if feature in SERVICES and text in ("no", "no_internet_service", "no_phone_service"):
        return f"no {SERVICES[feature]}"
    if feature in SERVICES and text == "yes":
        return SERVICES[feature]
    return f"{LABELS.get(feature, feature)}: {text.replace('_', ' ')}"


def reason_phrases(reasons: Sequence[Sequence[Any]]) -> list[str]:
    return [phrase(str(r[0]), r[1]) for r in reasons if len(r) == 2]
