"""Did the offers work? Outcomes (`customerid,churned`) against the campaign's decisions give the churn rate
of offered and holdout customers, the difference with a 95 % confidence interval, and the customers kept."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, NamedTuple, TextIO

import numpy as np
import numpy.typing as npt

from marketing_service.campaigns.stats import wald_interval
from marketing_service.customers.outcome_input import MAX_BAD, churned_flag, without_bom
from marketing_service.customers.outcomes import campaign_outcome
from marketing_service.customers.records import customer_id
from marketing_service.storage import Connection, now_iso

CHUNK = 1000  # outcomes stored per transaction


class OutcomeError(ValueError):
    """The outcomes file cannot be read; nothing was stored."""


class Parsed(NamedTuple):
    pairs: list[tuple[int, str]]  # (churned, customerid)
    bad: list[dict[str, Any]]  # the first MAX_BAD rejected lines
    rejected: int  # all rejected lines


def parse_outcomes(text: str | TextIO) -> Parsed:
    """The outcomes of a CSV with columns customerid and churned, given whole or as a text stream (opened with
    newline="", read as it is parsed)."""
    # newline="": the csv module reads line ends itself, so a bare \r inside a field is an error it reports.
    stream = io.StringIO(text, newline="") if isinstance(text, str) else text
    reader = csv.reader(without_bom(stream))
    try:
        return _read_outcomes(reader)
    except csv.Error as exc:  # a NUL byte, a stray line end: not a CSV we can read, so nothing is stored
        raise OutcomeError(f"the outcomes file is not a readable CSV (line {reader.line_num}: {exc})") from None
    except UnicodeDecodeError:
        raise OutcomeError("the outcomes file is not UTF-8 text") from None


def _read_outcomes(reader: Any) -> Parsed:
    header = [h.strip().lower() for h in next(reader, [])]
    if "customerid" not in header or "churned" not in header:
        raise OutcomeError("the outcomes CSV needs the columns customerid and churned (yes/no or 1/0)")
    id_at, churned_at = header.index("customerid"), header.index("churned")
    pairs: list[tuple[int, str]] = []
    bad: list[dict[str, Any]] = []
    rejected = 0
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        try:  # the one reading of a churned flag (customers/outcome_input.py)
            churned: int | None = churned_flag(values[churned_at] if len(values) > churned_at else "")
        except ValueError:
            churned = None
        try:
            customerid = customer_id(values[id_at] if len(values) > id_at else "")
        except ValueError:
            customerid = ""
        if not customerid or churned is None:
            rejected += 1
            if len(bad) < MAX_BAD:  # the answer lists this many; a file of nothing else holds no memory per line
                bad.append({"line": reader.line_num, "message": "needs a customerid and churned as yes/no or 1/0"})
            continue
        pairs.append((churned, customerid))
    return Parsed(pairs, bad, rejected)


def take_outcomes(conn: Connection, campaign_id: int, text: TextIO, created_by: str) -> dict[str, Any]:
    """Parse, store and log one outcomes upload (who sent it, and what came of it: DESIGN §11); OutcomeError
    if the file cannot be read, with nothing stored."""
    parsed = parse_outcomes(text)
    matched = store_outcomes(conn, campaign_id, parsed.pairs, created_by)
    unmatched = len(parsed.pairs) - matched
    with conn.transaction():
        conn.execute("INSERT INTO outcome_uploads (campaign_id, matched, unmatched, rejected, created_by, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (campaign_id, matched, unmatched, parsed.rejected, created_by, now_iso()))
    return {"matched": matched, "unmatched": unmatched, "rejected": parsed.bad, "rejected_lines": parsed.rejected}


def uploads(conn: Connection, campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's outcome uploads, oldest first."""
    return [{"matched": r[0], "unmatched": r[1], "rejected": r[2], "created_by": r[3], "created_at": r[4]}
            for r in conn.execute("SELECT matched, unmatched, rejected, created_by, created_at FROM outcome_uploads"
                                  " WHERE campaign_id = ? ORDER BY id", (campaign_id,))]


def store_outcomes(conn: Connection, campaign_id: int, pairs: Sequence[tuple[int, str]], created_by: str = "") -> int:
    """Record each customer's outcome, in the campaign's rows and in the outcomes every model metric reads
    (DESIGN §13: the same data); returns how many matched a customer of the campaign. CHUNK outcomes per
    transaction, so a campaign's worth never holds SQLite's write lock for long (live intake waits for it); each
    update sets a value, so storing the file again after a failure half way gives the same result."""
    matched, stamp = 0, now_iso()
    for start in range(0, len(pairs), CHUNK):
        with conn.transaction():
            for churned, customerid in pairs[start:start + CHUNK]:
                found = conn.execute("UPDATE campaign_rows SET churned = ? WHERE campaign_id = ? AND customerid = ?",
                                     (churned, campaign_id, customerid)).rowcount
                if found:
                    campaign_outcome(conn, campaign_id, customerid, churned, created_by, stamp)
                matched += found
    return matched


def uplift(offered: tuple[int, int], holdout: tuple[int, int]) -> dict[str, Any] | None:
    """(churned, total) per group -> rates, difference (holdout − offered: churn the offers prevented, as a
    share) with a 95 % Wald interval, and customers kept among those offered. None without both groups.
    The interval is stats.wald_interval's, the one rule of the report (DESIGN §14): the difference in churn
    prevented is the difference in retained, y = 1 − churned, so it is that function of the retained flags."""
    (churned_o, n_o), (churned_h, n_h) = offered, holdout
    if n_o == 0 or n_h == 0:
        return None
    rate_o, rate_h = churned_o / n_o, churned_h / n_h
    difference = rate_h - rate_o
    lo, hi = wald_interval(_retained(churned_o, n_o), _retained(churned_h, n_h))
    return {"offered": {"customers": n_o, "churned": churned_o, "churn_rate": rate_o},
            "holdout": {"customers": n_h, "churned": churned_h, "churn_rate": rate_h},
            "difference": difference, "ci95": [lo, hi],
            "customers_kept": difference * n_o}


def _retained(churned: int, customers: int) -> npt.NDArray[np.float64]:
    """y = retained per customer of a group with `churned` of `customers` churned (order does not matter)."""
    return np.repeat(np.array([0.0, 1.0]), [churned, customers - churned])


def report(conn: Connection, campaign_id: int) -> dict[str, Any] | None:
    """The uplift of the campaign's targeted customers: explored offers (DESIGN §14) are not in either arm."""
    groups = {d: (int(c or 0), int(n)) for d, c, n in conn.execute(
        """SELECT decision, SUM(churned), COUNT(*) FROM campaign_rows
           WHERE campaign_id = ? AND decision IN ('offer', 'holdout') AND explored = 0 AND churned IS NOT NULL
           GROUP BY decision""",
        (campaign_id,))}
    return uplift(groups.get("offer", (0, 0)), groups.get("holdout", (0, 0)))
