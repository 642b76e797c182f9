"""Read a campaign's customer list: the Telco CSV export as it is (plus `email`, optional `name`), streamed
row by row, or a JSON list. Rows come out one at a time, each a Customer or the reasons it was refused with
its line number; only a file that is not a usable CSV at all is refused whole (UploadError)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from feature_contract import FEATURES
from marketing_service.customers.records import Customer, InvalidCustomer, parse_customer

REQUIRED_COLUMNS = ("customerid", "email", *FEATURES)
SNIFF_BYTES = 8192


class UploadError(ValueError):
    """The file as a whole cannot be read as a customer list; nothing is stored."""


@dataclass(frozen=True)
class Refusal:
    line: int
    customerid: str
    errors: dict[str, str]


def csv_rows(stream: IO[bytes]) -> Iterator[tuple[int, Customer | Refusal]]:
    """(line, Customer or Refusal) for every data row of a UTF-8 CSV (with or without BOM)."""
    head = stream.read(SNIFF_BYTES)
    if not head.strip():
        raise UploadError("the file is empty")
    if b"\x00" in head:
        raise UploadError("this is not a CSV file (it contains binary data)")
    text = io.TextIOWrapper(io.BufferedReader(_Rejoined(head, stream)), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        first = next(reader, None)  # None: nothing after the BOM (a bare StopIteration would end this generator)
        if first is None:
            raise UploadError("the file is empty")
        header = [h.strip().lower() for h in first]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise UploadError(f"the header has no column {', '.join(missing)} (found: {', '.join(header)[:300]})")
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            yield reader.line_num, _row(reader.line_num, dict(zip(header, values, strict=False)), len(values), len(header))
    except UnicodeDecodeError:
        raise UploadError(f"the file is not UTF-8 text (near line {reader.line_num + 1}); save it as CSV UTF-8") from None
    except csv.Error as exc:
        raise UploadError(f"the CSV is malformed near line {reader.line_num}: {exc}") from None


def json_rows(customers: Sequence[Any]) -> Iterator[tuple[int, Customer | Refusal]]:
    """The same for `{"customers": [...]}`: the line is the position in the list, from 1."""
    for position, raw in enumerate(customers, start=1):
        yield position, _row(position, raw, None, None)


def _shown_id(raw: Any) -> str:
    """The customerid a reject is listed under: as sent, cut to 64 characters, a lone surrogate (JSON's
    "\\ud800", which no UTF-8 column can hold) spelled out as its escape."""
    customerid = raw.get("customerid", "") if isinstance(raw, dict) else ""
    return str(customerid)[:64].encode("utf-8", "backslashreplace").decode("utf-8")


def _row(line: int, raw: Any, width: int | None, expected: int | None) -> Customer | Refusal:
    if width is not None and expected is not None and width != expected:
        return Refusal(line, _shown_id(raw), {"row": f"has {width} cells, the header {expected}"})
    try:
        return parse_customer(raw)
    except InvalidCustomer as exc:
        return Refusal(line, _shown_id(raw), exc.errors)


class _Rejoined(io.RawIOBase):
    """The sniffed head, then the rest of the stream, as one readable binary stream."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


__all__ = ["REQUIRED_COLUMNS", "Refusal", "UploadError", "csv_rows", "json_rows"]
