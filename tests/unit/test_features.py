"""The feature contract: raw CSV spellings are accepted, bad values are named field by field."""
from __future__ import annotations

import math

import pytest

from feature_contract import FEATURES, InvalidRecord, parse_record

CSV_ROW = {
    "customerID": "7590-VHVEG", "gender": "Female", "SeniorCitizen": "0", "Partner": "Yes",
    "Dependents": "No", "tenure": "1", "PhoneService": "No", "MultipleLines": "No phone service",
    "InternetService": "DSL", "OnlineSecurity": "No", "OnlineBackup": "Yes", "DeviceProtection": "No",
    "TechSupport": "No", "StreamingTV": "No", "StreamingMovies": "No", "Contract": "Month-to-month",
    "PaperlessBilling": "Yes", "PaymentMethod": "Electronic check", "MonthlyCharges": "29.85",
    "TotalCharges": "29.85",
}


def errors_of(raw: object) -> dict[str, str]:
    with pytest.raises(InvalidRecord) as caught:
        parse_record(raw)
    return {e.field: e.message for e in caught.value.errors}


def test_raw_csv_row_is_normalised_like_training() -> None:
    record = parse_record(CSV_ROW)
    assert record["customerid"] == "7590-VHVEG"
    assert record["multiplelines"] == "no_phone_service"
    assert record["contract"] == "month-to-month"
    assert record["paymentmethod"] == "electronic_check"
    assert record["seniorcitizen"] == 0 and record["tenure"] == 1
    assert record["monthlycharges"] == pytest.approx(29.85)


def test_case_and_spacing_of_keys_and_values_do_not_matter() -> None:
    upper = dict(CSV_ROW, Contract="One year")
    lower = {k.lower(): v for k, v in CSV_ROW.items()} | {"contract": " one_year "}
    assert parse_record(upper) == parse_record(lower)
    assert parse_record(upper)["contract"] == "one_year"


def test_blank_totalcharges_reads_as_zero_as_in_training() -> None:
    assert parse_record(dict(CSV_ROW, TotalCharges=" "))["totalcharges"] == 0.0


@pytest.mark.parametrize("value, expected", [(True, 1), (False, 0), (1, 1), ("true", 1), ("0", 0)])
def test_seniorcitizen_accepts_flags(value: object, expected: int) -> None:
    assert parse_record(dict(CSV_ROW, SeniorCitizen=value))["seniorcitizen"] == expected


def test_every_bad_field_gets_its_own_message() -> None:
    bad = dict(
        CSV_ROW, Contract="weekly", tenure=-1, MonthlyCharges=math.nan, TotalCharges="lots",
        SeniorCitizen=2, gender=7,
    )
    del bad["Partner"]
    errors = errors_of(bad)
    assert set(errors) == {"contract", "tenure", "monthlycharges", "totalcharges", "seniorcitizen", "gender", "partner"}
    assert "weekly" in errors["contract"] and "month-to-month" in errors["contract"]
    assert "between 0 and 1200" in errors["tenure"]
    assert "finite" in errors["monthlycharges"]
    assert errors["partner"] == "is required"


@pytest.mark.parametrize("value", [math.inf, -math.inf, "inf", "nan", True, [1], {"a": 1}, 12.5, 1201])
def test_tenure_rejects_non_finite_wrong_types_and_fractions(value: object) -> None:
    assert "tenure" in errors_of(dict(CSV_ROW, tenure=value))


def test_not_an_object_is_refused() -> None:
    assert errors_of(["not", "a", "record"]) == {"customer": "must be a JSON object"}


def test_empty_record_lists_every_feature() -> None:
    assert set(errors_of({})) == set(FEATURES)


def test_customerid_is_optional_but_bounded() -> None:
    without = {k: v for k, v in CSV_ROW.items() if k != "customerID"}
    assert "customerid" not in parse_record(without)
    assert "customerid" in errors_of(dict(CSV_ROW, customerID="x" * 65))
    assert "customerid" in errors_of(dict(CSV_ROW, customerID=42))


def test_unknown_keys_are_ignored() -> None:
    assert parse_record(dict(CSV_ROW, favourite_colour="blue")) == parse_record(CSV_ROW)
