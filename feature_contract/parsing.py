"""Normalise and validate one customer record: every spelling accepted, every error collected.

`train/` prepares every CSV row with it, churn every request, and marketing every submission, so a value
is spelled, typed and range-checked the same way at fit time, at score time and before it is stored.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from feature_contract.customer_id import CUSTOMER_ID_MAX, is_customer_id
from feature_contract.fields import CATEGORICAL, FEATURES, NUMERIC

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
    # Only a float can be nan or inf; an int always is finite, and math.isfinite would overflow on one of 400
    # digits (JSON allows it) where the range test below refuses it plainly.
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}")
    if integer:
        if value != int(value):
            raise ValueError("must be a whole number")
        return int(value)
    return float(value)


def _missing(field: str, value: Any) -> bool:
    """Absent, null or blank (an empty form field); a blank totalcharges is the CSV's 0 for new customers."""
    return value is None or (isinstance(value, str) and not value.strip() and field != "totalcharges")


def parse_record_in_full(raw: Any) -> dict[str, Any]:
    """`parse_record` without the fast path: every spelling normalised, every error collected."""
    if not isinstance(raw, Mapping):
        raise InvalidRecord([FieldError("customer", "must be a JSON object")])
    by_key = {str(k).strip().lower(): v for k, v in raw.items()}
    by_key.update((k, raw[k]) for k in (*FEATURES, "customerid") if k in raw)
    record: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field in FEATURES:
        if _missing(field, by_key.get(field)):
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
        if not is_customer_id(customer_id):
            errors.append(FieldError("customerid", f"must be a string of 1 to {CUSTOMER_ID_MAX} characters"))
        else:
            record["customerid"] = customer_id
    if errors:
        raise InvalidRecord(errors)
    return record


def model_features(record: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a parsed record the model sees (no customerid)."""
    return {field: record[field] for field in FEATURES}
