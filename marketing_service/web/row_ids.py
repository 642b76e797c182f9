"""`<rowid:...>` in a route: a positive whole number a database row id can be (64-bit signed). A larger one
names no row, so it is a 404 from routing, not an overflow in the driver (a 500 the fuzzer found)."""
from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

ROW_ID_MAX = 2**63 - 1


class RowIdConverter(IntegerConverter):
    def __init__(self, url_map: Any):
        super().__init__(url_map, min=1, max=ROW_ID_MAX)
