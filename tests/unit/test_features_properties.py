"""Property-based checks of the feature contract (hypothesis)."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feature_contract import (
    CATEGORICAL,
    FEATURES,
    NUMERIC,
    InvalidRecord,
    model_features,
    parse_record,
    parse_record_in_full,
)
from marketing_service.customers.records import InvalidCustomer, parse_customer
from tests.samples import LIKELY_CHURNER as SAMPLE


def numbers(field: str) -> st.SearchStrategy[Any]:
    low, high, integer = NUMERIC[field]
    if integer:
        return st.integers(int(low), int(high))
    return st.one_of(st.floats(low, high, allow_nan=False), st.integers(int(low), int(high)))


valid_records = st.fixed_dictionaries({
    **{field: st.sampled_from(allowed) for field, allowed in CATEGORICAL.items()},
    "seniorcitizen": st.sampled_from([0, 1]),
    **{field: numbers(field) for field in NUMERIC},
}, optional={"customerid": st.text(min_size=1, max_size=64)})

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=300)
@given(valid_records)
def test_fast_path_agrees_with_the_full_path(record: dict) -> None:
    assert parse_record(record) == parse_record_in_full(record)


@settings(max_examples=300)
@given(valid_records, st.sampled_from(sorted(CATEGORICAL)), st.sampled_from(["upper", "title", "spaces"]))
def test_any_spelling_of_a_category_parses_to_the_canonical_value(record: dict, field: str, how: str) -> None:
    value = record[field]
    spelled = {"upper": value.upper(), "title": value.replace("_", " ").title(), "spaces": f"  {value}  "}[how]
    assert parse_record(dict(record, **{field: spelled}))[field] == value


@settings(max_examples=300)
@given(valid_records, st.sampled_from(sorted([*CATEGORICAL, "seniorcitizen", *NUMERIC])), anything)
def test_any_value_either_parses_within_the_contract_or_names_the_field(record: dict, field: str, value: Any) -> None:
    try:
        parsed = parse_record(dict(record, **{field: value}))
    except InvalidRecord as exc:
        assert [e.field for e in exc.errors] == [field]
        return
    if field in CATEGORICAL:
        assert parsed[field] in CATEGORICAL[field]
    elif field in NUMERIC:
        low, high, _ = NUMERIC[field]
        assert low <= parsed[field] <= high
    else:
        assert parsed[field] in (0, 1)


def _key_spelling(key: str, how: str) -> str:
    return {"lower": key, "upper": key.upper(), "title": key.title(), "csv": key.replace("id", "ID")}[how]


def _value_spelling(value: Any, how: str) -> Any:
    """Ways a person or the CSV may write a value the contract must read the same."""
    if isinstance(value, str):
        return {"lower": value, "upper": value.upper(), "title": value.replace("_", " ").title(),
                "csv": f" {value.replace('_', ' ')} "}[how]
    if isinstance(value, bool):
        return value
    return {"lower": value, "upper": str(value), "title": value, "csv": f" {value} "}[how]


def _verdict(parse: Any, raw: Any) -> tuple[str, Any]:
    try:
        return "ok", parse(raw)
    except InvalidRecord as exc:
        return "invalid", sorted(e.field for e in exc.errors)
    except InvalidCustomer as exc:
        return "invalid", sorted(exc.errors)


def _marketing_features(raw: dict) -> dict:
    customer = parse_customer({**raw, "customerid": "C-1", "email": "a@example.com"})
    return customer.features


@settings(max_examples=400)
@given(valid_records, st.dictionaries(st.sampled_from([*FEATURES, "customerid"]),
                                      st.sampled_from(["lower", "upper", "title", "csv"])),
       st.dictionaries(st.sampled_from(FEATURES), st.sampled_from(["lower", "upper", "title", "csv"])),
       st.dictionaries(st.sampled_from(FEATURES), anything, max_size=2))
def test_every_key_and_value_spelling_gets_one_verdict_from_every_path(
        record: dict, key_hows: dict, value_hows: dict, replaced: dict) -> None:
    """The fast path, the full path and marketing's validator: same accept/reject, same normalised record."""
    raw = {**record, **replaced}
    spelled = {_key_spelling(k, key_hows.get(k, "lower")): _value_spelling(v, value_hows.get(k, "lower"))
               if k in FEATURES and k not in replaced else v for k, v in raw.items()}
    fast, full = _verdict(parse_record, spelled), _verdict(parse_record_in_full, spelled)
    assert fast == full
    without_id = {k: v for k, v in spelled.items() if k.lower() != "customerid"}
    marketing = _verdict(_marketing_features, without_id)
    churn = _verdict(lambda r: model_features(parse_record(r)), without_id)
    assert marketing == churn
    if fast[0] == "ok" and "customerid" in record:
        assert fast[1]["customerid"] == record["customerid"]


@pytest.mark.parametrize("key", ["customerID", "CustomerId", "CUSTOMERID"])
def test_any_spelling_of_customerid_is_echoed_and_validated(key: str) -> None:
    record = {field: value for field, value in parse_record(SAMPLE).items()}
    assert parse_record({**record, key: "7590-VHVEG"})["customerid"] == "7590-VHVEG"
    with pytest.raises(InvalidRecord) as caught:
        parse_record({**record, key: "x" * 65})
    assert [e.field for e in caught.value.errors] == ["customerid"]
