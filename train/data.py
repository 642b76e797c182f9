"""Read one or more Telco-layout CSVs and prepare them with the serving feature contract.

Several files are one data set, their rows concatenated (DESIGN §13: retraining from production adds the
exported outcomes to the original file). The raw rows are kept so that the held-out ones can be written
back, unchanged, as the version's `holdout.csv`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from feature_contract import FEATURES, InvalidRecord, model_features, parse_record

TARGET = "churn"
OBSERVED_AT = "observed_at"


class DataError(Exception):
    """The data file cannot be used; the message is one line a person can act on."""


@dataclass(frozen=True)
class Source:
    """One training file as model.json lists it under `data`."""
    path: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class Dataset:
    records: list[dict[str, Any]]
    labels: list[int]
    sha256: str  # the one file's SHA-256; for several, the SHA-256 of their SHA-256s in order
    sources: tuple[Source, ...] = ()
    rows: tuple[dict[str, str], ...] = ()  # as read, for holdout.csv
    columns: tuple[str, ...] = ()
    observed_at: tuple[datetime | None, ...] = ()  # all None when no file has the column

    @property
    def dated(self) -> bool:
        return any(when is not None for when in self.observed_at)


def _label(value: str, where: str) -> int:
    spelled = value.strip().lower()
    if spelled not in ("yes", "no"):
        raise DataError(f"{where}: column Churn must be Yes or No, got {value[:40]!r}")
    return int(spelled == "yes")


def _observed_at(value: str, where: str) -> datetime | None:
    """ISO 8601 with a `Z` or an offset (§13), so rows from different clocks order correctly; blank: undated."""
    if not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise DataError(f"{where}: observed_at must be ISO 8601 with a Z or an offset, got {value[:40]!r}")
    return when


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Raw rows as strings, so the feature contract (not pandas' dtype guessing) types every value."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"data file not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"data path is a directory, not a CSV file: {path}") from None
    except PermissionError:
        raise DataError(f"cannot read data file {path}: permission denied") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 CSV file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path} is not a valid CSV file: {str(exc).strip().splitlines()[-1]}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in (*FEATURES, TARGET) if c not in frame.columns]
    if missing:
        raise DataError(f"{path} is missing columns: {', '.join(missing)}")
    return list(frame.columns), frame.to_dict(orient="records")


def load_dataset(paths: Path | Sequence[Path], min_rows: int = 50) -> Dataset:
    """Every row of every file parsed by `parse_record`; a bad row stops training instead of being dropped."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    records: list[dict[str, Any]] = []
    labels: list[int] = []
    rows: list[dict[str, str]] = []
    columns: dict[str, None] = {}  # the union, in order of first appearance
    observed: list[datetime | None] = []
    sources: list[Source] = []
    for path in paths:
        header, file_rows = _read_rows(path)
        columns.update(dict.fromkeys(header))
        for line, row in enumerate(file_rows, start=2):
            where = f"{path} line {line}"
            try:
                records.append(model_features(parse_record(row)))
            except InvalidRecord as exc:
                raise DataError(f"{where}: {exc}") from None
            labels.append(_label(row[TARGET], where))
            observed.append(_observed_at(row.get(OBSERVED_AT, ""), where))
        rows.extend(file_rows)
        sources.append(Source(str(path), hashlib.sha256(path.read_bytes()).hexdigest(), len(file_rows)))
    if len(records) < min_rows or len(set(labels)) < 2:
        named = ", ".join(map(str, paths))
        raise DataError(f"{named} needs at least {min_rows} rows with both churn classes, found {len(records)}")
    digest = sources[0].sha256 if len(sources) == 1 else hashlib.sha256("".join(s.sha256 for s in sources).encode()).hexdigest()
    return Dataset(records, labels, digest, tuple(sources), tuple(rows), tuple(columns), tuple(observed))
