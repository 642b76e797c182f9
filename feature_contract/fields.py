"""The fields of a customer record and the values each may take (DESIGN §2): the one list everything uses."""
from __future__ import annotations

from typing import Any

YES_NO = ("yes", "no")
INTERNET_ADDON = ("yes", "no", "no_internet_service")

CATEGORICAL: dict[str, tuple[str, ...]] = {
    "gender": ("female", "male"),
    "partner": YES_NO,
    "dependents": YES_NO,
    "phoneservice": YES_NO,
    "multiplelines": ("yes", "no", "no_phone_service"),
    "internetservice": ("dsl", "fiber_optic", "no"),
    "onlinesecurity": INTERNET_ADDON,
    "onlinebackup": INTERNET_ADDON,
    "deviceprotection": INTERNET_ADDON,
    "techsupport": INTERNET_ADDON,
    "streamingtv": INTERNET_ADDON,
    "streamingmovies": INTERNET_ADDON,
    "contract": ("month-to-month", "one_year", "two_year"),
    "paperlessbilling": YES_NO,
    "paymentmethod": (
        "electronic_check",
        "mailed_check",
        "bank_transfer_(automatic)",
        "credit_card_(automatic)",
    ),
}
BINARY = ("seniorcitizen",)
# field -> (minimum, maximum, integer only)
NUMERIC: dict[str, tuple[float, float, bool]] = {
    "tenure": (0, 1200, True),
    "monthlycharges": (0, 100_000, False),
    "totalcharges": (0, 10_000_000, False),
}
FEATURES: tuple[str, ...] = (*CATEGORICAL, *BINARY, *NUMERIC)


def schema() -> dict[str, dict[str, Any]]:
    """The feature schema published in the manifest and `GET /model`, e.g. to build a form."""
    fields: dict[str, dict[str, Any]] = {}
    for field, allowed in CATEGORICAL.items():
        fields[field] = {"type": "category", "allowed": list(allowed)}
    for field in BINARY:
        fields[field] = {"type": "binary", "allowed": [0, 1]}
    for field, (low, high, integer) in NUMERIC.items():
        fields[field] = {"type": "integer" if integer else "number", "minimum": low, "maximum": high}
    return fields
