"""Validate the customer records marketing accepts (DESIGN §2 and §5).

The features are checked by the shared feature contract, exactly as churn and training check them;
marketing adds only its contact fields. Bad records are refused before anything is stored; good ones are
normalised so churn sees exactly what training saw.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from feature_contract import CUSTOMER_ID_MAX, InvalidRecord, is_customer_id, model_features, parse_record_in_full

NAME_MAX, EMAIL_MAX = 100, 254
# Deliberately plain: one @, no spaces, quotes, angle brackets or control characters (no header injection).
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")  # noqa: E501
CONTACT_FIELDS = ("customerid", "name", "email")


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


def _has_control_chars(text: str) -> bool:
    # str.isprintable() is False for every character of these categories (and for a few more, such as a
    # no-break space), so text it passes needs no look at each character: a campaign file's 300,000 names,
    # emails and ids are checked in C.
    return not text.isprintable() and any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def is_utf8(text: str) -> bool:
    """False for text holding a lone surrogate (JSON's "\\ud800"): it cannot be stored, sent or shown as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value: Any, max_len: int, required: bool) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError("is required")
        return ""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    if not is_utf8(value):
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)")
    if len(value) > max_len:
        raise ValueError(f"must be at most {max_len} characters")
    if _has_control_chars(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def customer_id(value: Any) -> str:
    """The customerid as marketing stores it: surrounding spaces stripped, then the contract's rule (1 to 64
    characters) and no control characters. Every marketing path that reads an id (form, API, campaign files,
    outcomes) comes through here."""
    text = _text(value, CUSTOMER_ID_MAX, required=True)
    if not is_customer_id(text):
        raise ValueError(f"must be 1 to {CUSTOMER_ID_MAX} characters")
    return text


def _email(value: Any) -> str:
    email = _text(value, EMAIL_MAX, required=True)
    if not EMAIL_RE.match(email):
        raise ValueError("must be an email address like name@example.com")
    return email


def parse_customer(raw: Any) -> Customer:
    """One flat customer object -> Customer, or InvalidCustomer naming every bad field."""
    if not isinstance(raw, Mapping):
        raise InvalidCustomer({"customer": "must be a JSON object"})
    by_key = {str(k).strip().lower(): v for k, v in raw.items()}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks = {
        "customerid": customer_id,
        "name": lambda v: _text(v, NAME_MAX, required=False),
        "email": _email,
    }
    for field, check in checks.items():
        try:
            values[field] = check(by_key.get(field))
        except ValueError as exc:
            errors[field] = str(exc)
    # The contract judges the features; the contact fields above are marketing's own (stricter) checks.
    features: dict[str, Any] = {}
    try:
        features = model_features(parse_record_in_full({k: v for k, v in by_key.items() if k not in CONTACT_FIELDS}))
    except InvalidRecord as exc:
        errors.update((e.field, e.message) for e in exc.errors)
    if errors:
        raise InvalidCustomer(errors)
    return Customer(values["customerid"], values["email"], values["name"], features)
