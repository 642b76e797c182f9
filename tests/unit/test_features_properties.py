"""Property-based checks of the feature contract (hypothesis)."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from churn_service.features import CATEGORICAL, NUMERIC, InvalidRecord, parse_record, parse_record_in_full


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
