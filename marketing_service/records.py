"""Validate the customer records marketing accepts (DESIGN §2 and §5).

Marketing is deployed without churn_service, so it checks features against `feature_schema.json`, the
schema churn publishes in `GET /model` (a test keeps the two equal). Bad records are refused before
anything is stored; good ones are normalised so churn sees exactly what training saw.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("feature_schema.json")
CUSTOMER_ID_MAX, NAME_MAX, EMAIL_MAX = 64, 100, 254
# Deliberately plain: one @, no spaces, quotes, angle brackets or control characters (no header injection).
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")  # noqa: E501
BINARY_SPELLINGS = {"0": 0, "1": 1, "false": 0, "true": 1}


@lru_cache(maxsize=1)
def feature_schema() -> dict[str, dict[str, Any]]:
    return json.loads(SCHEMA_PATH.read_text())


@dataclass(frozen=True)
class Customer:
    customerid: str
    email: str
    name: str
    features: dict[str, Any]


class InvalidCustomer(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def normalise_value(value: str) -> str:
    return value.strip().lower().replace(" ", "_")


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def _text(value: Any, max_len: int, required: bool) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError("is required")
        return ""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    if len(value) > max_len:
        raise ValueError(f"must be at most {max_len} characters")
    if _has_control_chars(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def _email(value: Any) -> str:
    email = _text(value, EMAIL_MAX, required=True)
    if not EMAIL_RE.match(email):
        raise ValueError("must be an email address like name@example.com")
    return email


def _feature(field: str, spec: dict[str, Any], value: Any) -> Any:
    kind = spec["type"]
    if kind == "category":
        if not isinstance(value, str) or normalise_value(value) not in spec["allowed"]:
            raise ValueError(f"must be one of: {', '.join(spec['allowed'])}")
        return normalise_value(value)
    if kind == "binary":
        if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
            return int(value)
        if isinstance(value, str) and normalise_value(value) in BINARY_SPELLINGS:
            return BINARY_SPELLINGS[normalise_value(value)]
        raise ValueError("must be 0 or 1")
    if isinstance(value, str):
        if field == "totalcharges" and not value.strip():
            return 0.0  # blank for brand-new customers in the Telco data; training reads it as 0
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError("must be a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("must be a finite number")
    if not spec["minimum"] <= value <= spec["maximum"]:
        raise ValueError(f"must be between {spec['minimum']:g} and {spec['maximum']:g}")
    if kind == "integer":
        if value != int(value):
            raise ValueError("must be a whole number")
        return int(value)
    return float(value)


def parse_customer(raw: Any) -> Customer:
    """One flat customer object -> Customer, or InvalidCustomer naming every bad field."""
    if not isinstance(raw, Mapping):
        raise InvalidCustomer({"customer": "must be a JSON object"})
    by_key = {str(k).strip().lower(): v for k, v in raw.items()}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks = {
        "customerid": lambda v: _text(v, CUSTOMER_ID_MAX, required=True),
        "name": lambda v: _text(v, NAME_MAX, required=False),
        "email": _email,
    }
    for field, check in checks.items():
        try:
            values[field] = check(by_key.get(field))
        except ValueError as exc:
            errors[field] = str(exc)
    features: dict[str, Any] = {}
    for field, spec in feature_schema().items():
        value = by_key.get(field)
        if value is None or (isinstance(value, str) and not value.strip() and field != "totalcharges"):
            errors[field] = "is required"
            continue
        try:
            features[field] = _feature(field, spec, value)
        except ValueError as exc:
            errors[field] = str(exc)
    if errors:
        raise InvalidCustomer(errors)
    return Customer(values["customerid"], values["email"], values["name"], features)
