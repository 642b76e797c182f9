"""Did the offers work? Outcomes (`customerid,churned`) against the campaign's decisions give the churn rate
of offered and holdout customers, the difference with a 95 % confidence interval, and the customers kept."""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from typing import Any

from marketing_service.customers.records import customer_id
from marketing_service.storage import Connection

YES, NO = {"yes", "1", "true", "y"}, {"no", "0", "false", "n"}
Z_95 = 1.959963984540054


class OutcomeError(ValueError):
    """The outcomes file cannot be read; nothing was stored."""


def parse_outcomes(text: str) -> tuple[list[tuple[int, str]], list[dict[str, Any]]]:
    """((churned, customerid) pairs, rejected lines) from a CSV with columns customerid and churned."""
    # newline="": the csv module reads line ends itself, so a bare \r inside a field is an error it reports.
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _read_outcomes(reader)
    except csv.Error as exc:  # a NUL byte, a stray line end: not a CSV we can read, so nothing is stored
        raise OutcomeError(f"the outcomes file is not a readable CSV (line {reader.line_num}: {exc})") from None


def _read_outcomes(reader: Any) -> tuple[list[tuple[int, str]], list[dict[str, Any]]]:
    header = [h.strip().lower() for h in next(reader, [])]
    if "customerid" not in header or "churned" not in header:
        raise OutcomeError("the outcomes CSV needs the columns customerid and churned (yes/no or 1/0)")
    id_at, churned_at = header.index("customerid"), header.index("churned")
    pairs, bad = [], []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        churned = values[churned_at].strip().lower() if len(values) > churned_at else ""
        try:
            customerid = customer_id(values[id_at] if len(values) > id_at else "")
        except ValueError:
            customerid = ""
        if not customerid or churned not in YES | NO:
            bad.append({"line": reader.line_num, "message": "needs a customerid and churned as yes/no or 1/0"})
            continue
        pairs.append((1 if churned in YES else 0, customerid))
    return pairs, bad


def store_outcomes(conn: Connection, campaign_id: int, pairs: Iterable[tuple[int, str]]) -> int:
    """Record each customer's outcome; returns how many matched a customer of the campaign."""
    with conn.transaction():
        return sum(conn.execute("UPDATE campaign_rows SET churned = ? WHERE campaign_id = ? AND customerid = ?",
                                (churned, campaign_id, customerid)).rowcount for churned, customerid in pairs)


def uplift(offered: tuple[int, int], holdout: tuple[int, int]) -> dict[str, Any] | None:
    """(churned, total) per group -> rates, difference (holdout − offered: churn the offers prevented, as a
    share) with a 95 % Wald interval, and customers kept among those offered. None without both groups."""
    (churned_o, n_o), (churned_h, n_h) = offered, holdout
    if n_o == 0 or n_h == 0:
        return None
    rate_o, rate_h = churned_o / n_o, churned_h / n_h
    difference = rate_h - rate_o
    half_width = Z_95 * math.sqrt(rate_o * (1 - rate_o) / n_o + rate_h * (1 - rate_h) / n_h)
    return {"offered": {"customers": n_o, "churned": churned_o, "churn_rate": rate_o},
            "holdout": {"customers": n_h, "churned": churned_h, "churn_rate": rate_h},
            "difference": difference, "ci95": [difference - half_width, difference + half_width],
            "customers_kept": difference * n_o}


def report(conn: Connection, campaign_id: int) -> dict[str, Any] | None:
    groups = {d: (int(c or 0), int(n)) for d, c, n in conn.execute(
        """SELECT decision, SUM(churned), COUNT(*) FROM campaign_rows
           WHERE campaign_id = ? AND decision IN ('offer', 'holdout') AND churned IS NOT NULL GROUP BY decision""",
        (campaign_id,))}
    return uplift(groups.get("offer", (0, 0)), groups.get("holdout", (0, 0)))
