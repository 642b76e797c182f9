"""The fast path for records already in canonical form, which is what API clients and marketing send.

It only makes valid records faster, it never decides differently: anything unusual (another spelling, a
string for a number, an extra key such as `customerID`, any error) returns None and takes the full path.
"""
from __future__ import annotations

from typing import Any

from feature_contract.customer_id import is_customer_id
from feature_contract.fields import CATEGORICAL, FEATURES, NUMERIC
from feature_contract.parsing import parse_record_in_full

# Canonical spellings map to themselves, so a well-formed request needs one dict lookup per category.
_CANONICAL = tuple((field, {v: v for v in allowed}) for field, allowed in CATEGORICAL.items())
_NUMERIC_ITEMS = tuple((field, low, high, integer) for field, (low, high, integer) in NUMERIC.items())
_N_FEATURES = len(FEATURES)


def parse_canonical(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The common case in one pass: lowercase keys, canonical values, plain in-range numbers.

    Returns None for anything else, which then takes the full path. A record with any key beyond the
    features and a lowercase `customerid` goes there too: that key may be another spelling of one we read
    (`customerID`, the CSV's), which must be echoed and validated, not ignored.
    """
    if len(raw) != _N_FEATURES + ("customerid" in raw):
        return None
    record: dict[str, Any] = {}
    try:
        for field, canonical in _CANONICAL:
            value = canonical.get(raw[field])
            if value is None:
                return None
            record[field] = value
        senior = raw["seniorcitizen"]
        if type(senior) is not int or senior not in (0, 1):
            return None
        record["seniorcitizen"] = senior
        for field, low, high, integer in _NUMERIC_ITEMS:
            value = raw[field]
            kind = type(value)
            if not (kind is int or (kind is float and not integer)) or not low <= value <= high:
                return None  # NaN fails the range test too
            record[field] = value if integer else float(value)
    except (KeyError, TypeError):  # a missing key, or an unhashable value such as a list
        return None
    customer_id = raw.get("customerid")
    if customer_id is not None:
        if type(customer_id) is not str or not is_customer_id(customer_id):
            return None
        record["customerid"] = customer_id
    return record


def parse_record(raw: Any) -> dict[str, Any]:
    """Return the normalised features of one customer, or raise InvalidRecord listing every bad field.

    Keys are matched case-insensitively (an exact lowercase key wins over other spellings of it);
    unknown keys are ignored; `customerid` is kept when present.
    """
    if type(raw) is dict:
        fast = parse_canonical(raw)
        if fast is not None:
            return fast
    return parse_record_in_full(raw)
