"""Each version's held-out rows, `<registry>/<version>/holdout.csv` (DESIGN §13).

The promotion gate scores a candidate on the rows the current model was itself tested on: a candidate
trained on labels without signal ties any model on its own (equally garbage) held-out rows, but not on
these. The rows are written as read (Telco layout, lower-case headers), so `load_dataset` reads them back.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from train import exports
from train.data import DataError, Dataset, load_dataset
from train.pipeline import TrainResult
from train.registry import RegistryError

HOLDOUT = "holdout.csv"


def write(result: TrainResult, data: Dataset, folder: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(data.columns), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(data.rows[i] for i in result.test_index)
    exports.write_file(folder / HOLDOUT, buffer.getvalue().encode())


def read(folder: Path) -> Dataset | None:
    """The version's held-out rows; None for a version trained before they were kept."""
    path = folder / HOLDOUT
    if not path.is_file():
        return None
    try:
        return load_dataset(path, min_rows=1)
    except DataError as exc:
        # A damaged file must not quietly weaken the gate: say so, and let a person repair or remove it.
        raise RegistryError(f"the current model's held-out rows cannot be used ({exc}); restore or remove {path}") from None
