"""The feature contract: one module shared by training and serving.

`train/` prepares every CSV row with `parse_record`, and the service prepares every request with it,
so a value is spelled, typed and range-checked the same way at fit time and at score time.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
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
CUSTOMER_ID_MAX = 64
_BINARY_SPELLINGS = {"0": 0, "1": 1, "false": 0, "true": 1}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InvalidRecord(ValueError):
    """A record that breaks the contract; `errors` holds one entry per bad field."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def normalise_value(value: str) -> str:
    """Spell a category the way training saw it: `" One year"` -> `"one_year"`."""
    return value.strip().lower().replace(" ", "_")


def _category(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, one of: {', '.join(CATEGORICAL[field])}")
    spelled = normalise_value(value)
    if spelled not in CATEGORICAL[field]:
        raise ValueError(f"unknown value {value[:40]!r}; allowed: {', '.join(CATEGORICAL[field])}")
    return spelled


def _binary(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and normalise_value(value) in _BINARY_SPELLINGS:
        return _BINARY_SPELLINGS[normalise_value(value)]
    raise ValueError("must be 0 or 1 (or true/false)")


def _number(field: str, value: Any) -> float | int:
    low, high, integer = NUMERIC[field]
    if isinstance(value, str):
        if field == "totalcharges" and not value.strip():
            return 0.0  # the CSV leaves it blank for brand-new customers; training reads that as 0
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError("must be a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}")
    if integer:
        if value != int(value):
            raise ValueError("must be a whole number")
        return int(value)
    return float(value)


# Canonical spellings map to themselves, so a well-formed request needs one dict lookup per category.
_CANONICAL = tuple((field, {v: v for v in allowed}) for field, allowed in CATEGORICAL.items())
_NUMERIC_ITEMS = tuple((field, low, high, integer) for field, (low, high, integer) in NUMERIC.items())


def _parse_canonical(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The common case in one pass: lowercase keys, canonical values, plain in-range numbers.

    Returns None for anything else (other spellings, strings for numbers, any error), which then takes
    the full path below; so this only makes valid records faster, it never decides differently.
    """
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
        if type(customer_id) is not str or not 1 <= len(customer_id) <= CUSTOMER_ID_MAX:
            return None
        record["customerid"] = customer_id
    return record


def parse_record(raw: Any) -> dict[str, Any]:
    """Return the normalised features of one customer, or raise InvalidRecord listing every bad field.

    Keys are matched case-insensitively (an exact lowercase key wins over other spellings of it);
    unknown keys are ignored; `customerid` is kept when present.
    """
    if type(raw) is dict:
        fast = _parse_canonical(raw)
        if fast is not None:
            return fast
    return parse_record_in_full(raw)


def parse_record_in_full(raw: Any) -> dict[str, Any]:
    """`parse_record` without the fast path: every spelling normalised, every error collected."""
    if not isinstance(raw, Mapping):
        raise InvalidRecord([FieldError("customer", "must be a JSON object")])
    by_key = {str(k).strip().lower(): v for k, v in raw.items()}
    by_key.update((k, raw[k]) for k in (*FEATURES, "customerid") if k in raw)
    record: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field in FEATURES:
        if field not in by_key or by_key[field] is None:
            errors.append(FieldError(field, "is required"))
            continue
        try:
            if field in CATEGORICAL:
                record[field] = _category(field, by_key[field])
            elif field in NUMERIC:
                record[field] = _number(field, by_key[field])
            else:
                record[field] = _binary(by_key[field])
        except ValueError as exc:
            errors.append(FieldError(field, str(exc)))
    customer_id = by_key.get("customerid")
    if customer_id is not None:
        if not isinstance(customer_id, str) or not 1 <= len(customer_id) <= CUSTOMER_ID_MAX:
            errors.append(FieldError("customerid", f"must be a string of 1 to {CUSTOMER_ID_MAX} characters"))
        else:
            record["customerid"] = customer_id
    if errors:
        raise InvalidRecord(errors)
    return record


def model_features(record: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a parsed record the model sees (no customerid)."""
    return {field: record[field] for field in FEATURES}


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
