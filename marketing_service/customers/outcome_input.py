"""What happened to scored customers (DESIGN §13), read from a CSV stream or a JSON list: one Outcome per good
line or item, the bad ones named by line (or index) and field; a file that cannot be read at all is an
OutcomeInputError, and then nothing is stored."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple, TextIO

from marketing_service.customers.records import customer_id
from marketing_service.storage import now_iso

YES, NO = frozenset({"yes", "1", "true", "y"}), frozenset({"no", "0", "false", "n"})
MAX_BAD = 100  # rejected lines listed in the answer
MAX_JSON_OUTCOMES = 100_000


class OutcomeInputError(ValueError):
    """The outcomes cannot be read; nothing was stored."""


class Outcome(NamedTuple):
    customerid: str
    churned: int
    observed_at: str  # UTC, schema.TIMESTAMP: compared as text with decided_at


class Parsed(NamedTuple):
    outcomes: list[Outcome]
    rejected: list[dict[str, Any]]  # the first MAX_BAD rejected lines or items


def churned_flag(raw: Any) -> int:
    if isinstance(raw, bool):
        return int(raw)
    text = str(raw).strip().lower() if isinstance(raw, (str, int)) else ""
    if text in YES | NO:
        return int(text in YES)
    raise ValueError("must be yes/no, 1/0 or true/false")


def observed_at(raw: Any, default: str) -> str:
    """ISO 8601 with a `Z` or an offset, as UTC; blank or absent: `default` (now)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        if not isinstance(raw, str):
            raise ValueError
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError("must be an ISO 8601 time, e.g. 2026-05-01T12:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError("needs a time zone: end it with Z or an offset such as +02:00")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset falls before year 1 in UTC
        raise ValueError("is out of range") from None
    # schema.TIMESTAMP, with the year padded (strftime's %Y is not, before 1000): compared as text
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def _one(raw: dict[str, Any], where: dict[str, Any], now: str, out: Parsed) -> None:
    """One line or item: an Outcome, or its bad fields added to the rejected ones."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    readers = {"customerid": customer_id, "churned": churned_flag, "observed_at": lambda v: observed_at(v, now)}
    for field, read in readers.items():
        try:
            values[field] = read(raw.get(field))
        except (ValueError, TypeError) as exc:
            errors[field] = str(exc) or "is invalid"
    for field, message in errors.items():
        if len(out.rejected) < MAX_BAD:
            out.rejected.append({**where, "field": field, "message": message})
    if not errors:
        out.outcomes.append(Outcome(values["customerid"], values["churned"], values["observed_at"]))


def parse_csv(text: TextIO) -> Parsed:
    """A CSV with the columns customerid, churned and optionally observed_at (any case, any order, UTF-8 with
    or without BOM), read as it is parsed."""
    reader = csv.reader(without_bom(text))
    out, now = Parsed([], []), now_iso()
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if "customerid" not in header or "churned" not in header:
            raise OutcomeInputError("the outcomes CSV needs the columns customerid and churned (yes/no or 1/0),"
                                    " and may have observed_at (ISO 8601)")
        at = {name: header.index(name) for name in ("customerid", "churned", "observed_at") if name in header}
        for values in reader:
            if any(v.strip() for v in values):
                _one({f: values[i] for f, i in at.items() if i < len(values)}, {"line": reader.line_num}, now, out)
    except csv.Error as exc:
        raise OutcomeInputError(f"the outcomes file is not a readable CSV (line {reader.line_num}: {exc})") from None
    except UnicodeDecodeError:
        raise OutcomeInputError("the outcomes file is not UTF-8 text") from None
    return out


def parse_json_body(body: Any) -> Parsed:
    """{"outcomes": [{"customerid", "churned", "observed_at"?}, ...]}."""
    items = body.get("outcomes") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_JSON_OUTCOMES:
        raise OutcomeInputError(f"send \"outcomes\": a list of 1 to {MAX_JSON_OUTCOMES} objects")
    out, now = Parsed([], []), now_iso()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            if len(out.rejected) < MAX_BAD:
                out.rejected.append({"index": index, "field": "outcomes", "message": "must be an object"})
            continue
        _one({str(k).lower(): v for k, v in item.items()}, {"index": index}, now, out)
    return out


def as_text(stream: Any) -> TextIO:
    return io.TextIOWrapper(stream, encoding="utf-8", newline="")


def without_bom(lines: Iterable[str]) -> Iterator[str]:
    """The lines of a file that may start with a UTF-8 byte-order mark (Excel writes one), without it."""
    first = True
    for line in lines:
        yield line.lstrip("\ufeff") if first else line
        first = False
