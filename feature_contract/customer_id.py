"""The customerid rule (DESIGN §2): a string of 1 to 64 characters, echoed as it was sent.

Written once, in the two shapes its callers need: one value (`is_customer_id`, for the record parsers) and a
whole batch's ids at once (`all_customer_ids`, for the batch kernel, in a few C-level passes). They sit side by
side so they cannot drift apart, and tests/unit/test_one_rule_one_place.py checks they agree on any input.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CUSTOMER_ID_MAX = 64


def is_customer_id(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= CUSTOMER_ID_MAX


def all_customer_ids(ids: Sequence[Any]) -> bool:
    """`is_customer_id` of every id a batch gave (None: that record sent none). A str subclass answers False
    here, and the record parsers then decide one by one."""
    kinds = set(map(type, ids))
    if not kinds <= {str, type(None)}:
        return False
    given = ids if kinds == {str} else [i for i in ids if i is not None]
    return not given or (min(map(len, given)) >= 1 and max(map(len, given)) <= CUSTOMER_ID_MAX)
