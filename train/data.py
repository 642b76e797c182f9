"""Read the Telco CSV and prepare it with the serving feature contract."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from feature_contract import FEATURES, InvalidRecord, model_features, parse_record

TARGET = "churn"


class DataError(Exception):
    """The data file cannot be used; the message is one line a person can act on."""


@dataclass(frozen=True)
class Dataset:
    records: list[dict[str, Any]]
    labels: list[int]
    sha256: str


def _label(value: str, line: int) -> int:
    spelled = value.strip().lower()
    if spelled not in ("yes", "no"):
        raise DataError(f"line {line}: column Churn must be Yes or No, got {value[:40]!r}")
    return int(spelled == "yes")


def _read_rows(path: Path) -> list[dict[str, str]]:
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
    return frame.to_dict(orient="records")


def load_dataset(path: Path) -> Dataset:
    """Every row parsed by `parse_record`; a bad row stops training instead of being dropped."""
    rows = _read_rows(path)
    records: list[dict[str, Any]] = []
    labels: list[int] = []
    for line, row in enumerate(rows, start=2):
        try:
            records.append(model_features(parse_record(row)))
        except InvalidRecord as exc:
            raise DataError(f"{path} line {line}: {exc}") from None
        labels.append(_label(row[TARGET], line))
    if len(records) < 50 or len(set(labels)) < 2:
        raise DataError(f"{path} needs at least 50 rows with both churn classes, found {len(records)}")
    return Dataset(records, labels, hashlib.sha256(path.read_bytes()).hexdigest())
