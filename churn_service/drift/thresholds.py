"""The drift thresholds (DESIGN §7): PSI below 0.1 is ok, below 0.2 warn, else alert.

Said once, here. Churn publishes them in `GET /drift` ("thresholds"), the marketing Model page draws its marks
from that answer, and tests/unit/test_one_rule_one_place.py holds monitoring/rules.yml to the same numbers.
"""
from __future__ import annotations

WARN, ALERT = 0.1, 0.2
THRESHOLDS = {"warn": WARN, "alert": ALERT}
SEVERITY = {"ok": 0, "warn": 1, "alert": 2}


def status_of(value: float) -> str:
    return "ok" if value < WARN else "warn" if value < ALERT else "alert"


def worst(statuses: list[str]) -> str:
    return max(statuses, key=SEVERITY.__getitem__)
