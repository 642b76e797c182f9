"""Marketing's record validation: the same contract as churn, plus contact fields that stay clean."""
from __future__ import annotations

import pytest

from feature_contract import schema
from marketing_service.customers.records import InvalidCustomer, parse_customer
from tests.samples import LIKELY_CHURNER

VALID = dict(LIKELY_CHURNER, customerid="C-1", email="ann@example.com", name="Ann Lee")


def errors_of(raw: object) -> dict[str, str]:
    with pytest.raises(InvalidCustomer) as caught:
        parse_customer(raw)
    return caught.value.errors


def test_valid_record_is_normalised() -> None:
    customer = parse_customer(dict(VALID, Contract="Month-to-month", PaymentMethod="Electronic check"))
    assert customer.customerid == "C-1" and customer.name == "Ann Lee"
    assert customer.features["paymentmethod"] == "electronic_check"
    assert set(customer.features) == set(schema())


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "ann@example.com\r\nBcc: x@evil.com",
                                   "<ann@example.com>", "ann smith@example.com", "a\n@b.co", 42])
def test_bad_emails_are_refused(email: object) -> None:
    assert "email" in errors_of(dict(VALID, email=email))


@pytest.mark.parametrize("name", ["Ann\nBcc: x", "Ann\u202eevil", "Ann\u2028Lee", "Ann\u200bLee", "x" * 101, "\x00",
                                  ["Ann"]])
def test_names_with_control_characters_or_too_long_are_refused(name: object) -> None:
    assert "name" in errors_of(dict(VALID, name=name))


def test_unicode_and_html_in_names_are_kept_verbatim() -> None:
    # Stored as typed; escaping is the job of every page and the email (tested there).
    assert parse_customer(dict(VALID, name="Zoë <b>O'Brien</b> 李")).name == "Zoë <b>O'Brien</b> 李"


@pytest.mark.parametrize("name", ["Ann\u00a0Lee", "Ann\u3000Lee", "Ann\u2009Lee"])
def test_names_with_unusual_spaces_are_kept(name: str) -> None:
    # Spaces other than " " are not printable to str.isprintable(), but they are not control characters.
    assert parse_customer(dict(VALID, name=name)).name == name


def test_customerid_is_required_and_bounded() -> None:
    assert errors_of({k: v for k, v in VALID.items() if k != "customerid"})["customerid"] == "is required"
    assert "customerid" in errors_of(dict(VALID, customerid="x" * 65))


def test_every_bad_feature_is_named() -> None:
    errors = errors_of(dict(VALID, contract="weekly", tenure="soon", monthlycharges=float("nan")))
    assert set(errors) == {"contract", "tenure", "monthlycharges"}
