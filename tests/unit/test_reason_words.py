"""Churn's reasons as a marketer reads them."""
from __future__ import annotations

import pytest

from marketing_service.customers.reasons import phrase, reason_phrases


@pytest.mark.parametrize(("feature", "value", "words"), [
    ("contract", "month-to-month", "month-to-month contract"),
    ("internetservice", "fiber_optic", "fibre optic"),
    ("tenure", 1, "1 month tenure"),
    ("tenure", 24, "24 months tenure"),
    ("techsupport", "no", "no tech support"),
    ("onlinesecurity", "no_internet_service", "no online security"),
    ("seniorcitizen", 1, "senior citizen"),
    ("monthlycharges", 99.5, "pays $99.50 a month"),
    ("paymentmethod", "electronic_check", "pays by electronic check"),
    ("gender", "female", "gender: female"),
    ("streamingtv", "yes", "streaming TV"),
])
def test_each_reason_reads_as_words(feature: str, value: object, words: str) -> None:
    assert phrase(feature, value) == words


def test_malformed_reasons_are_skipped_not_fatal() -> None:
    assert reason_phrases([["contract", "two_year"], ["only-one"], ["tenure", "many"]]) == [
        "two-year contract", "tenure: many"]
